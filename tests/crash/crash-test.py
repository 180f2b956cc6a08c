#!/usr/bin/env python3
"""Crash safety: writers over many connections create and patch records of
all four resources while the server is killed with SIGKILL at a random
moment; then the server is restarted on the same database and every write
that was answered 2xx must be there, nothing unanswered may be half there
(every record equals the `after` of its last audit row, and every audit row
of a record that exists has it), PRAGMA integrity_check must say ok and
/audit/verify must find the hash chain intact.

usage: crash-test.py COHORTD_BINARY [TRIALS] [--durability normal|full]
Prints one summary line; exits 1 on any loss or inconsistency."""
import http.client
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

BIN = sys.argv[1]
TRIALS = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 100
DURABILITY = sys.argv[sys.argv.index("--durability") + 1] if "--durability" in sys.argv else "normal"
WRITERS = 8


def start(db):
    proc = subprocess.Popen([BIN, "--db", db, "--port", "0", "--threads", "2",
                             "--durability", DURABILITY,
                             "--max-per-ip", "64"],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    while '"listening"' not in line:
        line = proc.stderr.readline()
        if not line:
            raise RuntimeError("server did not start")
    port = json.loads(line)["port"]
    threading.Thread(target=lambda: proc.stderr.read(), daemon=True).start()
    return proc, port


def token(db):
    out = subprocess.run([BIN, "token", "create", "--role", "admin", "--name",
                          f"crash{random.randrange(1 << 30)}", "--db", db],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[-1]


class Writer(threading.Thread):
    """Creates a patient, its course, outcomes and toxicities, and patches
    them; remembers what the server acknowledged."""

    def __init__(self, port, tok, wid, acked):
        super().__init__(daemon=True)
        self.port, self.tok, self.wid, self.acked = port, tok, wid, acked

    def call(self, conn, method, path, body, reason=None):
        headers = {"Authorization": f"Bearer {self.tok}",
                   "Content-Type": "application/merge-patch+json" if method == "PATCH"
                   else "application/json"}
        if reason:
            headers["Change-Reason"] = reason
        conn.request(method, path, json.dumps(body), headers)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, json.loads(data) if data else None

    def run(self):
        n = 0
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            while True:
                n += 1
                status, p = self.call(conn, "POST", "/patients", {
                    "code": f"W{self.wid}-{n}", "histology": "melanoma",
                    "setting": "metastatic", "regimen": "il2_lak", "enrolled_on": "1985-01-10"})
                if status != 201:
                    return
                self.acked.append(("patients", p["id"], p))
                status, c = self.call(conn, "POST", "/courses", {
                    "patient_id": p["id"], "started_on": "1985-02-01"})
                if status != 201:
                    return
                self.acked.append(("courses", c["id"], c))
                status, o = self.call(conn, "POST", "/outcomes", {
                    "course_id": c["id"], "assessed_on": "1985-04-01", "response": "SD"})
                if status != 201:
                    return
                self.acked.append(("outcomes", o["id"], o))
                status, t = self.call(conn, "POST", "/toxicities", {
                    "course_id": c["id"], "term": "Chills", "grade": 1,
                    "onset_on": "1985-02-02", "attribution": "definite"})
                if status != 201:
                    return
                self.acked.append(("toxicities", t["id"], t))
                status, p2 = self.call(conn, "PATCH", f"/patients/{p['id']}",
                                       {"last_contact_on": "1986-01-01"}, "follow-up")
                if status != 200:
                    return
                self.acked.append(("patients", p2["id"], p2))
                status, t2 = self.call(conn, "PATCH", f"/toxicities/{t['id']}",
                                       {"resolved_on": "1985-02-09", "outcome": "recovered"},
                                       "resolved")
                if status != 200:
                    return
                self.acked.append(("toxicities", t2["id"], t2))
        except (OSError, http.client.HTTPException, ValueError):
            return


def check(db, port, tok, acked):
    """Returns (lost, inconsistent) after the restart."""
    lost = inconsistent = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": f"Bearer {tok}"}
    latest = {}
    for entity, rid, rec in acked:
        if rec["version"] >= latest.get((entity, rid), {"version": 0})["version"]:
            latest[(entity, rid)] = rec
    for (entity, rid), rec in latest.items():
        conn.request("GET", f"/{entity}/{rid}", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            lost += 1
            continue
        now = json.loads(body)
        # an acknowledged version may have been followed by an unacknowledged
        # one that committed: never by less
        if now["version"] < rec["version"] or (now["version"] == rec["version"] and now != rec):
            lost += 1
    conn.request("GET", "/audit/verify", headers=headers)
    verify = json.loads(conn.getresponse().read())
    if not verify["intact"]:
        inconsistent += 1
    # every record equals the after of its last audit row, and no audit row
    # speaks of a record that is not there (nothing is half-written)
    sql = sqlite3.connect(db)
    if sql.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
        inconsistent += 1
    last_after = {}
    for entity, eid, after in sql.execute(
            "SELECT entity, entity_id, after FROM audit ORDER BY seq"):
        last_after[(entity, eid)] = json.loads(after) if after else None
    stored = set()
    for entity in ("patients", "courses", "outcomes", "toxicities"):
        for (rid,) in sql.execute(f"SELECT id FROM {entity}"):
            stored.add((entity, rid))
            conn.request("GET", f"/{entity}/{rid}", headers=headers)
            now = json.loads(conn.getresponse().read())
            if last_after.get((entity, rid)) != now:
                inconsistent += 1
    if set(k for k, v in last_after.items() if v is not None) != stored:
        inconsistent += 1
    sql.close()
    return lost, inconsistent


def main():
    random.seed(int(os.environ.get("SEED", "1")))
    totals = {"trials": 0, "acknowledged": 0, "lost": 0, "inconsistent": 0}
    for trial in range(TRIALS):
        with tempfile.TemporaryDirectory() as tmp:
            db = os.path.join(tmp, "crash.db")
            subprocess.run([BIN, "migrate", "--db", db], capture_output=True, check=True)
            tok = token(db)
            proc, port = start(db)
            acked = []
            writers = [Writer(port, tok, w, acked) for w in range(WRITERS)]
            for w in writers:
                w.start()
            time.sleep(random.uniform(0.1, 0.8))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for w in writers:
                w.join(10)
            proc, port = start(db)
            lost, inconsistent = check(db, port, tok, list(acked))
            proc.send_signal(signal.SIGTERM)
            proc.wait()
            totals["trials"] += 1
            totals["acknowledged"] += len(acked)
            totals["lost"] += lost
            totals["inconsistent"] += inconsistent
    print(f"crash-test: {totals['trials']} trials, {totals['acknowledged']} acknowledged writes, "
          f"{totals['lost']} lost, {totals['inconsistent']} inconsistent "
          f"(durability {DURABILITY}; integrity_check, audit/verify, audit = data)")
    sys.exit(0 if totals["lost"] == 0 and totals["inconsistent"] == 0 else 1)


main()
