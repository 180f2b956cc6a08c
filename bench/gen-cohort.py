#!/usr/bin/env python3
"""Writes a deterministic synthetic cohort as NDJSON for POST /import and
`cohortd import`: N patients, about 1.6 courses each, 2 outcomes and 6
toxicities per course. usage: gen-cohort.py N [SEED] > cohort.ndjson"""
import json
import random
import sys

REGIMENS = ["il2_alone", "il2_lak", "il2_til", "il2_ifn_alpha", "il2_tnf", "il2_antibody",
            "il2_cyclophosphamide"]
HISTOLOGIES = ["melanoma", "renal_cell", "colorectal", "non_hodgkin_lymphoma", "sarcoma",
               "breast", "lung", "other"]
RESPONSES = ["CR", "PR", "MR", "SD", "PD", "NE"]
TERMS = ["Hypotension", "Capillary leak syndrome", "Chills", "Nausea", "Diarrhea",
         "Creatinine increased", "Confusion", "Oliguria", "Fever", "Anemia"]


def day(base, offset):
    y, m, d = base
    d += offset
    while d > 28:
        d -= 28
        m += 1
        if m > 12:
            m, y = 1, y + 1
    return f"{y:04d}-{m:02d}-{d:02d}"


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1989)
    out = sys.stdout
    for i in range(1, n + 1):
        setting = "adjuvant" if rng.random() < 0.09 else "metastatic"
        base = (1984 + rng.randrange(5), 1 + rng.randrange(12), 1 + rng.randrange(28))
        courses = []
        ncourses = 1 if rng.random() < 0.5 else 2 if rng.random() < 0.8 else 3
        for c in range(ncourses):
            start = day(base, 7 + 90 * c)
            responses = ["PD", "NE"] if setting == "adjuvant" else RESPONSES
            courses.append({
                "number": c + 1, "started_on": start, "ended_on": day(base, 21 + 90 * c),
                "il2_dose": 720000, "il2_dose_unit": "IU/kg", "doses_given": 8 + rng.randrange(20),
                "stop_reason": "completed",
                "outcomes": [{"assessed_on": day(base, 60 + 90 * c + 30 * k),
                              "response": rng.choice(responses), "confirmed": rng.random() < 0.7}
                             for k in range(2)],
                "toxicities": [{"term": TERMS[(k + i) % len(TERMS)], "grade": 1 + rng.randrange(4),
                                "onset_on": day(base, 8 + 90 * c), "attribution": "probable",
                                "outcome": "recovered", "resolved_on": day(base, 20 + 90 * c)}
                               for k in range(6)],
            })
        patient = {"code": f"B{i:07d}", "sex": rng.choice(["female", "male"]),
                   "age": 20 + rng.randrange(60), "histology": rng.choice(HISTOLOGIES),
                   "setting": setting, "regimen": rng.choice(REGIMENS), "enrolled_on": day(base, 0),
                   "courses": courses}
        out.write(json.dumps(patient, separators=(",", ":")) + "\n")


main()
