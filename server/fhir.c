/* FHIR R4 resources from records (fhir.h). Every code system, profile and
 * extension named here is listed in docs/fhir.md with its reason; where no
 * standard code fits, a local code system under urn:cohortd:fhir: says so. */
#include "fhir.h"

#include <stdio.h>
#include <string.h>

#include "model.h"
#include "resources.h"
#include "sdtm.h"

#define LOCAL          "urn:cohortd:fhir:"
#define MCODE          "http://hl7.org/fhir/us/mcode/StructureDefinition/"
#define TERMINOLOGY    "http://terminology.hl7.org/CodeSystem/"
#define SNOMED         "http://snomed.info/sct"
#define ICD10CM        "http://hl7.org/fhir/sid/icd-10-cm"
#define LOINC          "http://loinc.org"
#define UCUM           "http://unitsofmeasure.org"
#define DATA_ABSENT    "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
#define CODE_HISTOLOGY LOCAL "CodeSystem:histology"
#define CODE_REGIMEN   LOCAL "CodeSystem:regimen"
#define CODE_AGENT     LOCAL "CodeSystem:agent"
#define CODE_RESPONSE  LOCAL "CodeSystem:tumour-response"
#define CODE_CRITERIA  LOCAL "CodeSystem:response-criteria"
#define CODE_CTCAE     LOCAL "CodeSystem:ctcae-term"
#define CODE_STOP      LOCAL "CodeSystem:stop-reason"
#define EXT_GRADE      LOCAL "StructureDefinition:ctcae-grade"
#define EXT_RESOLVED   LOCAL "StructureDefinition:resolved-on"
#define EXT_CONFIRMED  LOCAL "StructureDefinition:response-confirmed"

static const char *const type_names[FHIR_TYPE_COUNT] = {
	[FHIR_PATIENT] = "Patient",
	[FHIR_CONDITION] = "Condition",
	[FHIR_RESEARCH_STUDY] = "ResearchStudy",
	[FHIR_RESEARCH_SUBJECT] = "ResearchSubject",
	[FHIR_MEDICATION_ADMINISTRATION] = "MedicationAdministration",
	[FHIR_OBSERVATION] = "Observation",
	[FHIR_ADVERSE_EVENT] = "AdverseEvent",
};

const char *fhir_type_name(enum fhir_type t)
{
	return type_names[t];
}

int fhir_type_named(const char *name)
{
	for (int t = 0; t < FHIR_TYPE_COUNT; t++)
		if (strcmp(type_names[t], name) == 0)
			return t;
	return -1;
}

/* --- values of records ------------------------------------------------ */

/* A value of an enumeration, its code and display in a code system. */
struct term {
	const char *value, *code, *display;
};

static const struct term *term_of(const struct term *terms, const char *value)
{
	for (int i = 0; value && terms[i].value; i++)
		if (strcmp(terms[i].value, value) == 0)
			return &terms[i];
	return NULL;
}

static json_t *coding(const char *system, const char *code, const char *display)
{
	return json_pack("{s:s, s:s, s:s*}", "system", system, "code", code, "display", display);
}

static json_t *concept(json_t *codings, const char *text)
{
	return json_pack("{s:o, s:s*}", "coding", codings, "text", text);
}

static json_t *reference(const char *type, int64_t id)
{
	char ref[96];
	snprintf(ref, sizeof ref, "%s/%lld", type, (long long)id);
	return json_pack("{s:s}", "reference", ref);
}

/* id, meta (version, last update, profile) of a resource of a record. */
static json_t *head(const char *type, const char *id, const struct record *r, const char *profile)
{
	char version[24];
	snprintf(version, sizeof version, "%lld", (long long)r->version);
	json_t *meta = json_pack("{s:s, s:s}", "versionId", version, "lastUpdated", r->updated_at);
	if (profile)
		json_object_set_new(meta, "profile", json_pack("[s]", profile));
	return json_pack("{s:s, s:s, s:o}", "resourceType", type, "id", id, "meta", meta);
}

static json_t *head_of(const char *type, const struct record *r, const char *profile)
{
	char id[24];
	snprintf(id, sizeof id, "%lld", (long long)r->id);
	return head(type, id, r, profile);
}

/* --- the regimens and their agents ------------------------------------ */

static const struct term regimens[] = {
	{"il2_alone", "il2_alone", "IL-2 alone"},
	{"il2_lak", "il2_lak", "IL-2 + LAK cells"},
	{"il2_til", "il2_til", "IL-2 + TIL"},
	{"il2_ifn_alpha", "il2_ifn_alpha", "IL-2 + alpha-interferon"},
	{"il2_tnf", "il2_tnf", "IL-2 + TNF"},
	{"il2_antibody", "il2_antibody", "IL-2 + monoclonal antibody"},
	{"il2_cyclophosphamide", "il2_cyclophosphamide", "IL-2 + cyclophosphamide"},
	{NULL, NULL, NULL}};

/* the regimen's other agent, keyed by regimen */
static const struct term agents[] = {
	{"il2_lak", "lak_cells", "Lymphokine-activated killer cells"},
	{"il2_til", "til", "Tumour-infiltrating lymphocytes"},
	{"il2_ifn_alpha", "interferon_alfa", "Interferon alfa"},
	{"il2_tnf", "tnf", "Tumour necrosis factor"},
	{"il2_antibody", "monoclonal_antibody", "Monoclonal antibody"},
	{"il2_cyclophosphamide", "cyclophosphamide", "Cyclophosphamide"},
	{NULL, NULL, NULL}};

bool fhir_regimen_has_agent(const char *regimen)
{
	return term_of(agents, regimen) != NULL;
}

/* --- Patient, Condition, ResearchStudy, ResearchSubject --------------- */

static const struct term genders[] = {{"female", "female", NULL},
				      {"male", "male", NULL},
				      {"other", "other", NULL},
				      {"unknown", "unknown", NULL},
				      {NULL, NULL, NULL}};

json_t *fhir_patient(const struct record *p)
{
	const struct resource *pr = &patients_resource;
	json_t *r = head_of("Patient", p, MCODE "mcode-cancer-patient");
	json_object_set_new(r, "identifier",
			    json_pack("[{s:s, s:s}]", "system", LOCAL "identifier:patient-code",
				      "value", record_text(p, pr, "code")));
	/* a registry keeps no names: absent, and said so (US Core asks for one) */
	json_object_set_new(r, "name",
			    json_pack("[{s:[{s:s, s:s}]}]", "extension", "url", DATA_ABSENT,
				      "valueCode", "masked"));
	const struct term *g = term_of(genders, record_text(p, pr, "sex"));
	json_object_set_new(r, "gender", json_string(g ? g->code : "unknown"));
	const char *status = record_text(p, pr, "vital_status");
	const char *died = record_text(p, pr, "died_on");
	if (died)
		json_object_set_new(r, "deceasedDateTime", json_string(died));
	else if (status && strcmp(status, "alive") == 0)
		json_object_set_new(r, "deceasedBoolean", json_false());
	return r;
}

/* ICD-10-CM where one code says the histology; the local code always */
static const struct term histologies[] = {
	{"melanoma", "C43.9", "Malignant melanoma of skin, unspecified"},
	{"renal_cell", "C64.9", "Malignant neoplasm of unspecified kidney, except renal pelvis"},
	{"colorectal", NULL, "Colorectal cancer"},
	{"non_hodgkin_lymphoma", "C85.90", "Non-Hodgkin lymphoma, unspecified, unspecified site"},
	{"sarcoma", "C49.9", "Malignant neoplasm of connective and soft tissue, unspecified"},
	{"breast", NULL, "Breast cancer"},
	{"lung", "C34.90",
	 "Malignant neoplasm of unspecified part of unspecified bronchus or lung"},
	{"other", "C80.1", "Malignant (primary) neoplasm, unspecified"},
	{NULL, NULL, NULL}};
static const struct term histology_names[] = {
	{"melanoma", NULL, "Melanoma"},
	{"renal_cell", NULL, "Renal cell carcinoma"},
	{"colorectal", NULL, "Colorectal cancer"},
	{"non_hodgkin_lymphoma", NULL, "Non-Hodgkin lymphoma"},
	{"sarcoma", NULL, "Sarcoma"},
	{"breast", NULL, "Breast cancer"},
	{"lung", NULL, "Lung cancer"},
	{"other", NULL, "Other cancer"},
	{NULL, NULL, NULL}};

json_t *fhir_condition(const struct record *p)
{
	const struct resource *pr = &patients_resource;
	json_t *r = head_of("Condition", p, MCODE "mcode-primary-cancer-condition");
	const char *histology = record_text(p, pr, "histology");
	const struct term *icd = term_of(histologies, histology);
	const struct term *name = term_of(histology_names, histology);
	json_t *codings = json_array();
	if (icd && icd->code)
		json_array_append_new(codings, coding(ICD10CM, icd->code, icd->display));
	json_array_append_new(codings,
			      coding(CODE_HISTOLOGY, histology, name ? name->display : NULL));
	json_object_set_new(r, "verificationStatus",
			    concept(json_pack("[o]", coding(TERMINOLOGY "condition-ver-status",
							    "confirmed", "Confirmed")),
				    NULL));
	json_object_set_new(
		r, "category",
		json_pack("[o]", concept(json_pack("[o]", coding(TERMINOLOGY "condition-category",
								 "encounter-diagnosis",
								 "Encounter Diagnosis")),
					 NULL)));
	json_object_set_new(r, "code", concept(codings, name ? name->display : histology));
	json_object_set_new(r, "subject", reference("Patient", p->id));
	/* the setting: metastatic disease or adjuvant treatment of resected disease */
	const char *setting = record_text(p, pr, "setting");
	json_object_set_new(r, "note",
			    json_pack("[{s:s}]", "text",
				      setting && strcmp(setting, "adjuvant") == 0
					      ? "Setting: adjuvant (no evaluable disease)"
					      : "Setting: metastatic"));
	return r;
}

json_t *fhir_research_study(void)
{
	json_t *arms = json_array();
	for (int i = 0; regimens[i].value; i++)
		json_array_append_new(
			arms,
			json_pack("{s:s, s:o, s:s}", "name", regimens[i].code, "type",
				  concept(json_pack("[o]", coding(TERMINOLOGY "research-study-"
									      "arm-type",
								  "experimental", "Experimental")),
					  NULL),
				  "description", regimens[i].display));
	return json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s, s:s, s:o}", "resourceType",
			 "ResearchStudy", "id", FHIR_STUDY_ID, "identifier", "system",
			 LOCAL "identifier:study", "value", sdtm_study_id(), "title",
			 sdtm_study_title(), "status", "completed", "arm", arms);
}

json_t *fhir_research_subject(const struct record *p, bool treated)
{
	const struct resource *pr = &patients_resource;
	json_t *r = head_of("ResearchSubject", p, NULL);
	const char *regimen = record_text(p, pr, "regimen");
	json_object_set_new(r, "status",
			    json_string(record_text(p, pr, "died_on") ? "off-study" : "follow-up"));
	json_object_set_new(r, "period",
			    json_pack("{s:s}", "start", record_text(p, pr, "enrolled_on")));
	json_object_set_new(r, "study",
			    json_pack("{s:s}", "reference", "ResearchStudy/" FHIR_STUDY_ID));
	json_object_set_new(r, "individual", reference("Patient", p->id));
	json_object_set_new(r, "assignedArm", json_string(regimen));
	if (treated)
		json_object_set_new(r, "actualArm", json_string(regimen));
	return r;
}

/* --- MedicationAdministration ----------------------------------------- */

static const struct term units[] = {
	{"IU/kg", "[iU]/kg", NULL}, {"U/kg", "U/kg", NULL}, {NULL, NULL, NULL}};
static const struct term stop_reasons[] = {
	{"completed", "completed", "Completed"},
	{"toxicity", "toxicity", "Stopped for toxicity"},
	{"progression", "progression", "Stopped for progression"},
	{"patient_choice", "patient_choice", "Stopped at the patient's choice"},
	{"death", "death", "Stopped by death"},
	{"other", "other", "Stopped for another reason"},
	{NULL, NULL, NULL}};

json_t *fhir_medication_administration(const struct record *c, const char *regimen, bool agent)
{
	const struct resource *cr = &courses_resource;
	char id[48];
	snprintf(id, sizeof id, "%lld%s", (long long)c->id, agent ? FHIR_AGENT_SUFFIX : "");
	json_t *r = head("MedicationAdministration", id, c,
			 MCODE "mcode-cancer-related-medication-administration");
	const char *stop = record_text(c, cr, "stop_reason");
	const struct term *why = term_of(stop_reasons, stop);
	json_object_set_new(
		r, "status",
		json_string(why && strcmp(why->code, "completed") != 0 ? "stopped" : "completed"));
	if (why && strcmp(why->code, "completed") != 0)
		json_object_set_new(
			r, "statusReason",
			json_pack("[o]", concept(json_pack("[o]", coding(CODE_STOP, why->code,
									 why->display)),
						 why->display)));
	const struct term *other = term_of(agents, regimen);
	if (agent && other)
		json_object_set_new(
			r, "medicationCodeableConcept",
			concept(json_pack("[o]", coding(CODE_AGENT, other->code, other->display)),
				other->display));
	else
		json_object_set_new(r, "medicationCodeableConcept",
				    concept(json_pack("[o]", coding(CODE_AGENT, "aldesleukin",
								    "Aldesleukin (interleukin-2)")),
					    "Aldesleukin (high-dose interleukin-2)"));
	int64_t patient = record_get(c, cr, "patient_id")->i;
	json_object_set_new(r, "subject", reference("Patient", patient));
	json_object_set_new(r, "supportingInformation",
			    json_pack("[o]", reference("ResearchSubject", patient)));
	const char *start = record_text(c, cr, "started_on");
	const char *end = record_text(c, cr, "ended_on");
	json_object_set_new(r, "effectivePeriod",
			    json_pack("{s:s, s:s*}", "start", start, "end", end));
	json_object_set_new(r, "reasonReference",
			    json_pack("[o]", reference("Condition", patient)));
	if (!agent) {
		json_t *dosage = json_pack(
			"{s:o}", "route",
			concept(json_pack("[o]", coding(SNOMED, "47625008", "Intravenous route")),
				"Intravenous"));
		const struct value *dose = record_get(c, cr, "il2_dose");
		const struct term *unit = term_of(units, record_text(c, cr, "il2_dose_unit"));
		if (dose->kind != VALUE_NULL && unit)
			json_object_set_new(
				dosage, "dose",
				json_pack("{s:f, s:s, s:s, s:s}", "value",
					  dose->kind == VALUE_REAL ? dose->r : (double)dose->i,
					  "unit", unit->value, "system", UCUM, "code", unit->code));
		const struct value *given = record_get(c, cr, "doses_given");
		char what[96];
		if (given->kind == VALUE_INT)
			snprintf(what, sizeof what,
				 "every 8 hours; %lld doses given in course %lld",
				 (long long)given->i, (long long)record_get(c, cr, "number")->i);
		else
			snprintf(what, sizeof what, "every 8 hours; course %lld",
				 (long long)record_get(c, cr, "number")->i);
		json_object_set_new(dosage, "text", json_string(what));
		json_object_set_new(r, "dosage", dosage);
	}
	return r;
}

/* --- Observation (tumour response), AdverseEvent ---------------------- */

static const struct term responses[] = {{"CR", "CR", "Complete response"},
					{"PR", "PR", "Partial response"},
					{"MR", "MR", "Minor response"},
					{"SD", "SD", "Stable disease"},
					{"PD", "PD", "Progressive disease"},
					{"NE", "NE", "Not evaluable"},
					{NULL, NULL, NULL}};
static const struct term criteria[] = {{"who", "who", "WHO criteria"},
				       {"recist_1_1", "recist_1_1", "RECIST 1.1"},
				       {NULL, NULL, NULL}};

json_t *fhir_observation(const struct record *o)
{
	const struct resource *orr = &outcomes_resource;
	json_t *r = head_of("Observation", o, NULL);
	const struct term *resp = term_of(responses, record_text(o, orr, "response"));
	const struct term *crit = term_of(criteria, record_text(o, orr, "criteria"));
	int64_t patient = record_get(o, orr, "patient_id")->i;
	json_object_set_new(r, "extension",
			    json_pack("[{s:s, s:b}]", "url", EXT_CONFIRMED, "valueBoolean",
				      record_get(o, orr, "confirmed")->i != 0));
	json_object_set_new(r, "status", json_string("final"));
	json_object_set_new(
		r, "category",
		json_pack("[o]", concept(json_pack("[o]", coding(TERMINOLOGY "observation-category",
								 "exam", "Exam")),
					 NULL)));
	json_object_set_new(
		r, "code",
		concept(json_pack("[o]", coding(LOINC, "88040-1", "Response to cancer treatment")),
			"Tumour response"));
	json_object_set_new(r, "subject", reference("Patient", patient));
	json_object_set_new(r, "focus", json_pack("[o]", reference("Condition", patient)));
	json_object_set_new(r, "effectiveDateTime",
			    json_string(record_text(o, orr, "assessed_on")));
	if (resp)
		json_object_set_new(
			r, "valueCodeableConcept",
			concept(json_pack("[o]", coding(CODE_RESPONSE, resp->code, resp->display)),
				resp->display));
	if (crit)
		json_object_set_new(
			r, "method",
			concept(json_pack("[o]", coding(CODE_CRITERIA, crit->code, crit->display)),
				crit->display));
	char ref[48];
	snprintf(ref, sizeof ref, "MedicationAdministration/%lld",
		 (long long)record_get(o, orr, "course_id")->i);
	json_object_set_new(r, "partOf", json_pack("[{s:s}]", "reference", ref));
	return r;
}

static const struct term outcomes[] = {
	{"recovered", "resolved", "Resolved"},
	{"recovering", "recovering", "Recovering"},
	{"not_recovered", "ongoing", "Ongoing"},
	{"sequelae", "resolvedWithSequelae", "Resolved with Sequelae"},
	{"fatal", "fatal", "Fatal"},
	{"unknown", "unknown", "Unknown"},
	{NULL, NULL, NULL}};
/* WHO-UMC causality; "unrelated" has no term there and is said in text */
static const struct term causality[] = {
	{"definite", "Certain", "Certain"},   {"probable", "Probably-Likely", "Probably/Likely"},
	{"possible", "Possible", "Possible"}, {"unlikely", "Unlikely", "Unlikely"},
	{"unrelated", NULL, "Unrelated"},     {NULL, NULL, NULL}};

json_t *fhir_adverse_event(const struct record *t)
{
	const struct resource *tr = &toxicities_resource;
	json_t *r = head_of("AdverseEvent", t, NULL);
	int64_t patient = record_get(t, tr, "patient_id")->i;
	int64_t grade = record_get(t, tr, "grade")->i;
	const char *term = record_text(t, tr, "term");
	json_t *ext =
		json_pack("[{s:s, s:I}]", "url", EXT_GRADE, "valueInteger", (json_int_t)grade);
	const char *resolved = record_text(t, tr, "resolved_on");
	if (resolved)
		json_array_append_new(ext, json_pack("{s:s, s:s}", "url", EXT_RESOLVED,
						     "valueDateTime", resolved));
	json_object_set_new(r, "extension", ext);
	json_object_set_new(r, "actuality", json_string("actual"));
	json_object_set_new(r, "event",
			    concept(json_pack("[o]", coding(CODE_CTCAE, term, term)), term));
	json_object_set_new(r, "subject", reference("Patient", patient));
	json_object_set_new(r, "date", json_string(record_text(t, tr, "onset_on")));
	bool serious = record_get(t, tr, "serious")->i != 0;
	json_object_set_new(r, "seriousness",
			    concept(json_pack("[o]", coding(TERMINOLOGY "adverse-event-seriousness",
							    serious ? "serious" : "non-serious",
							    serious ? "Serious" : "Non-serious")),
				    NULL));
	/* R4's severity is three steps: CTCAE 1 mild, 2 moderate, 3-5 severe
	 * (the grade itself is the extension above) */
	const char *severity = grade <= 1 ? "mild" : grade == 2 ? "moderate" : "severe";
	json_object_set_new(r, "severity",
			    concept(json_pack("[o]", coding(TERMINOLOGY "adverse-event-severity",
							    severity, NULL)),
				    NULL));
	const struct term *out = term_of(outcomes, record_text(t, tr, "outcome"));
	if (out)
		json_object_set_new(r, "outcome",
				    concept(json_pack("[o]", coding(TERMINOLOGY "adverse-event-"
										"outcome",
								    out->code, out->display)),
					    NULL));
	char course[48];
	snprintf(course, sizeof course, "MedicationAdministration/%lld",
		 (long long)record_get(t, tr, "course_id")->i);
	const struct term *cause = term_of(causality, record_text(t, tr, "attribution"));
	json_t *assessment =
		cause && cause->code
			? concept(json_pack("[o]", coding(TERMINOLOGY "adverse-event-"
								      "causality-"
								      "assess",
							  cause->code, cause->display)),
				  cause->display)
			: json_pack("{s:s}", "text", cause ? cause->display : "Unknown");
	json_object_set_new(r, "suspectEntity",
			    json_pack("[{s:{s:s}, s:[{s:o}]}]", "instance", "reference", course,
				      "causality", "assessment", assessment));
	json_object_set_new(r, "study",
			    json_pack("[{s:s}]", "reference", "ResearchStudy/" FHIR_STUDY_ID));
	return r;
}
