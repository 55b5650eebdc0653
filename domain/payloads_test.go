package domain

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// validPayloads has at least one valid event of every type, with the
// payload it must produce.
var validPayloads = []struct {
	name string
	typ  Type
	data string
	want any
}{
	{"opened minimal", TypeAccountOpened, `{"name":"Acme","mrr":12500.5}`, AccountOpened{Name: "Acme", MRR: 1250050}},
	{"opened full", TypeAccountOpened,
		`{"name":"Acme","mrr":0,"tier":"gold","manager_id":"am-1","renewal_date":"2026-12-31","sla_response_hours":2.5,"industry":"retail","website":"https://acme.example"}`,
		AccountOpened{Name: "Acme", MRR: 0, Tier: TierGold, ManagerID: "am-1", RenewalDate: NewDate(2026, 12, 31), SLAResponseHours: 2.5, Industry: "retail", Website: "https://acme.example"}},
	{"opened nulls are absent", TypeAccountOpened, `{"name":"Acme","mrr":1e3,"tier":null,"manager_id":null,"renewal_date":null}`, AccountOpened{Name: "Acme", MRR: 100000}},
	{"updated name", TypeAccountUpdated, `{"name":"Acme Corp"}`, AccountUpdated{Name: Some("Acme Corp")}},
	{"updated tier null", TypeAccountUpdated, `{"tier":null}`, AccountUpdated{Tier: Null[Tier]()}},
	{"updated clears", TypeAccountUpdated, `{"renewal_date":null,"sla_response_hours":null}`,
		AccountUpdated{RenewalDate: Null[Date](), SLAResponseHours: Null[float64]()}},
	{"updated values", TypeAccountUpdated, `{"mrr":0,"tier":"bronze","renewal_date":"2027-01-31","sla_response_hours":12,"other":1}`,
		AccountUpdated{MRR: Some(Money(0)), Tier: Some(TierBronze), RenewalDate: Some(NewDate(2027, 1, 31)), SLAResponseHours: Some(12.0)}},
	{"status", TypeAccountStatusChanged, `{"status":"on_hold","reason":"paused"}`, AccountStatusChanged{Status: StatusOnHold, Reason: "paused"}},
	{"status churned", TypeAccountStatusChanged, `{"status":"churned"}`, AccountStatusChanged{Status: StatusChurned}},
	{"assign", TypeAccountManagerAssigned, `{"manager_id":"am-2"}`, ManagerAssigned{ManagerID: "am-2"}},
	{"unassign", TypeAccountManagerAssigned, `{"manager_id":null}`, ManagerAssigned{}},
	{"touchpoint", TypeTouchpointRecorded, `{"channel":"in_person","direction":"inbound","manager_id":"am-1","summary":"lunch"}`,
		TouchpointRecorded{Channel: ChannelInPerson, Direction: DirectionInbound, ManagerID: "am-1", Summary: "lunch"}},
	{"touchpoint minimal", TypeTouchpointRecorded, `{"channel":"email","direction":"outbound"}`, TouchpointRecorded{Channel: ChannelEmail, Direction: DirectionOutbound}},
	{"message received", TypeMessageReceived, `{"message_id":"msg:42","channel":"chat"}`, MessageReceived{MessageID: "msg:42", Channel: ChannelChat}},
	{"message received minimal", TypeMessageReceived, `{"message_id":"m-1"}`, MessageReceived{MessageID: "m-1"}},
	{"message replied", TypeMessageReplied, `{"message_id":"m-1"}`, MessageReplied{MessageID: "m-1"}},
	{"meeting held", TypeMeetingHeld, `{"meeting_id":"mt-1"}`, MeetingHeld{MeetingID: "mt-1"}},
	{"meeting missed default", TypeMeetingMissed, `{"meeting_id":"mt-1"}`, MeetingMissed{MeetingID: "mt-1", By: PartyClient}},
	{"meeting missed null by", TypeMeetingMissed, `{"meeting_id":"mt-1","by":null}`, MeetingMissed{MeetingID: "mt-1", By: PartyClient}},
	{"meeting missed by agency", TypeMeetingMissed, `{"meeting_id":"mt-1","by":"agency"}`, MeetingMissed{MeetingID: "mt-1", By: PartyAgency}},
	{"meeting canceled", TypeMeetingCanceled, `{"meeting_id":"mt-1"}`, MeetingCanceled{MeetingID: "mt-1"}},
	{"invoice", TypeInvoiceIssued, `{"invoice_id":"INV-2026.001","amount":1200,"due_date":"2026-03-31"}`,
		InvoiceIssued{InvoiceID: "INV-2026.001", Amount: 120000, DueDate: NewDate(2026, 3, 31)}},
	{"payment", TypePaymentReceived, `{"invoice_id":"inv-1","amount":0.01}`, PaymentReceived{InvoiceID: "inv-1", Amount: 1}},
	{"void", TypeInvoiceVoided, `{"invoice_id":"inv-1"}`, InvoiceVoided{InvoiceID: "inv-1"}},
	{"nps 0", TypeNPSResponded, `{"score":0}`, NPSResponded{Score: 0}},
	{"nps 10", TypeNPSResponded, `{"score":10,"respondent":"cfo@acme.example","comment":"great"}`, NPSResponded{Score: 10, Respondent: "cfo@acme.example", Comment: "great"}},
	{"nps 7.0", TypeNPSResponded, `{"score":7.0}`, NPSResponded{Score: 7}},
	{"nps 1e1", TypeNPSResponded, `{"score":1e1}`, NPSResponded{Score: 10}},
	{"kpi default", TypeKPIReported, `{"kpi":"leads","target":100,"actual":0}`, KPIReported{KPI: "leads", Target: 100, Actual: 0, HigherIsBetter: true}},
	{"kpi null default", TypeKPIReported, `{"kpi":"leads","target":100,"actual":3,"higher_is_better":null}`, KPIReported{KPI: "leads", Target: 100, Actual: 3, HigherIsBetter: true}},
	{"kpi lower", TypeKPIReported, `{"kpi":"cpa","target":12.5,"actual":14.25,"higher_is_better":false,"period":"2026-02"}`,
		KPIReported{KPI: "cpa", Target: 12.5, Actual: 14.25, HigherIsBetter: false, Period: "2026-02"}},
	{"portal", TypePortalLogin, `{}`, PortalLogin{}},
	{"portal contact", TypePortalLogin, `{"contact":"ann@acme.example"}`, PortalLogin{Contact: "ann@acme.example"}},
	{"risk", TypeSignalRaised, `{"signal_id":"s-1","kind":"budget_cut","note":"Q3"}`, SignalRaised{SignalID: "s-1", Kind: SignalBudgetCut, Note: "Q3"}},
	{"opportunity", TypeSignalRaised, `{"signal_id":"s-2","kind":"expansion_interest"}`, SignalRaised{SignalID: "s-2", Kind: SignalExpansionInterest}},
	{"resolved", TypeSignalResolved, `{"signal_id":"s-1"}`, SignalResolved{SignalID: "s-1"}},
	{"referral", TypeReferralMade, `{}`, ReferralMade{}},
	{"referral named", TypeReferralMade, `{"referred":"Beta Ltd"}`, ReferralMade{Referred: "Beta Ltd"}},
	{"time default", TypeTimeLogged, `{"manager_id":"am-1","hours":24}`, TimeLogged{ManagerID: "am-1", Hours: 24, Billable: true}},
	{"time unbillable", TypeTimeLogged, `{"manager_id":"am-1","hours":0.25,"billable":false}`, TimeLogged{ManagerID: "am-1", Hours: 0.25, Billable: false}},
	{"override", TypeHealthOverridden, `{"band":"red","reason":"CEO unhappy","author":"ann","expires_at":"2026-04-01T02:00:00+02:00"}`,
		HealthOverridden{Band: BandRed, Reason: "CEO unhappy", Author: "ann", ExpiresAt: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}},
	{"override open-ended", TypeHealthOverridden, `{"band":"green","reason":"r","author":"a"}`, HealthOverridden{Band: BandGreen, Reason: "r", Author: "a"}},
	{"override cleared", TypeHealthOverrideCleared, `{}`, HealthOverrideCleared{}},
	{"joined default", TypeManagerJoined, `{"name":"Ann"}`, ManagerJoined{Name: "Ann", CapacityPoints: 100, WeeklyHours: 40}},
	{"joined full", TypeManagerJoined, `{"name":"Ann","capacity_points":80,"weekly_hours":168}`, ManagerJoined{Name: "Ann", CapacityPoints: 80, WeeklyHours: 168}},
	{"manager updated", TypeManagerUpdated, `{"weekly_hours":20}`, ManagerUpdated{WeeklyHours: Some(20.0)}},
	{"manager updated all", TypeManagerUpdated, `{"name":"Ann B","capacity_points":120,"weekly_hours":32}`,
		ManagerUpdated{Name: Some("Ann B"), CapacityPoints: Some(120.0), WeeklyHours: Some(32.0)}},
	{"manager left", TypeManagerLeft, `{}`, ManagerLeft{}},
}

func TestPayloadValid(t *testing.T) {
	covered := map[Type]bool{}
	for _, tt := range validPayloads {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(event(string(tt.typ), tt.data), testNow)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(e.Payload, tt.want) {
				t.Fatalf("Payload = %#v\nwant %#v", e.Payload, tt.want)
			}
		})
		covered[tt.typ] = true
	}
	for _, typ := range Types() {
		if !covered[typ] {
			t.Errorf("no valid case for %s", typ)
		}
	}
}

// TestPayloadMarshal checks that a payload marshals to a data object that
// parses back to the same payload (so tools can build events from payloads).
func TestPayloadMarshal(t *testing.T) {
	for _, tt := range validPayloads {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			e, err := Parse(event(string(tt.typ), string(data)), testNow)
			if err != nil {
				t.Fatalf("Parse(%s): %v", data, err)
			}
			if !reflect.DeepEqual(e.Payload, tt.want) {
				t.Fatalf("data %s gives %#v\nwant %#v", data, e.Payload, tt.want)
			}
		})
	}
}

func TestPayloadInvalid(t *testing.T) {
	tests := []struct {
		typ   Type
		data  string
		field string
		msg   string
	}{
		// account.opened
		{TypeAccountOpened, `{}`, "data.name", "required"},
		{TypeAccountOpened, `{"name":null,"mrr":1}`, "data.name", "required"},
		{TypeAccountOpened, `{"name":"","mrr":1}`, "data.name", "must be a non-empty string"},
		{TypeAccountOpened, `{"name":"  ","mrr":1}`, "data.name", "must be a non-empty string"},
		{TypeAccountOpened, `{"name":5,"mrr":1}`, "data.name", "must be a non-empty string"},
		{TypeAccountOpened, `{"name":"A"}`, "data.mrr", "required"},
		{TypeAccountOpened, `{"name":"A","mrr":null}`, "data.mrr", "required"},
		{TypeAccountOpened, `{"name":"A","mrr":-1}`, "data.mrr", "must be a number ≥ 0 with at most 2 decimals"},
		{TypeAccountOpened, `{"name":"A","mrr":"100"}`, "data.mrr", "must be a number ≥ 0 with at most 2 decimals"},
		{TypeAccountOpened, `{"name":"A","mrr":0.105}`, "data.mrr", "at most 2 decimals"},
		{TypeAccountOpened, `{"name":"A","mrr":1e16}`, "data.mrr", "too large"},
		{TypeAccountOpened, `{"name":"A","mrr":-1e16}`, "data.mrr", "≥ 0"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"tier":"diamond"}`, "data.tier", "must be one of platinum, gold, silver, bronze"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"tier":"Gold"}`, "data.tier", "must be one of platinum, gold, silver, bronze"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"manager_id":"am 1"}`, "data.manager_id", "must be 1–100 characters of A–Z a–z 0–9 . _ : -"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"manager_id":""}`, "data.manager_id", "must be 1–100 characters"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"manager_id":"` + strings.Repeat("a", 101) + `"}`, "data.manager_id", "must be 1–100 characters"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"renewal_date":"2026-02-30"}`, "data.renewal_date", "must be a date YYYY-MM-DD"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"renewal_date":"2026-03-01T00:00:00Z"}`, "data.renewal_date", "must be a date YYYY-MM-DD"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":0}`, "data.sla_response_hours", "must be a number of hours, 0.01 ≤ h ≤ 87840"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":"4"}`, "data.sla_response_hours", "must be a number of hours, 0.01 ≤ h ≤ 87840"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"sla_response_hours":1e999}`, "data.sla_response_hours", "must be a number of hours, 0.01 ≤ h ≤ 87840"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"industry":7}`, "data.industry", "must be a string"},
		{TypeAccountOpened, `{"name":"A","mrr":1,"website":["x"]}`, "data.website", "must be a string"},
		// account.updated
		{TypeAccountUpdated, `{}`, "data", "must set at least one of name, mrr, tier, renewal_date, sla_response_hours"},
		{TypeAccountUpdated, `{"industry":"retail"}`, "data", "must set at least one of"},
		{TypeAccountUpdated, `{"name":null}`, "data.name", "may not be null"},
		{TypeAccountUpdated, `{"mrr":null}`, "data.mrr", "may not be null"},
		{TypeAccountUpdated, `{"mrr":-5}`, "data.mrr", "≥ 0"},
		{TypeAccountUpdated, `{"tier":"x"}`, "data.tier", "must be one of platinum"},
		{TypeAccountUpdated, `{"renewal_date":"2026-13-01"}`, "data.renewal_date", "YYYY-MM-DD"},
		{TypeAccountUpdated, `{"sla_response_hours":-1}`, "data.sla_response_hours", "0.01 ≤ h"},
		// account.status_changed
		{TypeAccountStatusChanged, `{}`, "data.status", "required"},
		{TypeAccountStatusChanged, `{"status":"closed"}`, "data.status", "must be one of active, on_hold, churned"},
		{TypeAccountStatusChanged, `{"status":"active","reason":3}`, "data.reason", "must be a string"},
		// account.manager_assigned
		{TypeAccountManagerAssigned, `{}`, "data.manager_id", "required: a manager id, or null to unassign"},
		{TypeAccountManagerAssigned, `{"manager_id":"a/b"}`, "data.manager_id", "must be 1–100 characters"},
		{TypeAccountManagerAssigned, `{"manager_id":5}`, "data.manager_id", "must be 1–100 characters"},
		// touchpoint.recorded
		{TypeTouchpointRecorded, `{"direction":"inbound"}`, "data.channel", "required"},
		{TypeTouchpointRecorded, `{"channel":"fax","direction":"inbound"}`, "data.channel", "must be one of email, call, chat, meeting, in_person, portal, other"},
		{TypeTouchpointRecorded, `{"channel":"call"}`, "data.direction", "required"},
		{TypeTouchpointRecorded, `{"channel":"call","direction":"up"}`, "data.direction", "must be one of inbound, outbound"},
		{TypeTouchpointRecorded, `{"channel":"call","direction":"inbound","manager_id":"ä"}`, "data.manager_id", "must be 1–100 characters"},
		// messages
		{TypeMessageReceived, `{}`, "data.message_id", "required"},
		{TypeMessageReceived, `{"message_id":"m-1","channel":"fax"}`, "data.channel", "must be one of email"},
		{TypeMessageReplied, `{"message_id":""}`, "data.message_id", "must be 1–100 characters"},
		{TypeMessageReplied, `{"message_id":42}`, "data.message_id", "must be 1–100 characters"},
		// meetings
		{TypeMeetingHeld, `{}`, "data.meeting_id", "required"},
		{TypeMeetingMissed, `{"meeting_id":"m"," by":"client"}`, "", ""}, // valid: " by" is an unknown field
		{TypeMeetingMissed, `{"meeting_id":"m","by":"nobody"}`, "data.by", "must be one of client, agency"},
		{TypeMeetingCanceled, `{"meeting_id":"m m"}`, "data.meeting_id", "must be 1–100 characters"},
		// invoices and payments
		{TypeInvoiceIssued, `{"amount":1,"due_date":"2026-03-31"}`, "data.invoice_id", "required"},
		{TypeInvoiceIssued, `{"invoice_id":"i","due_date":"2026-03-31"}`, "data.amount", "required"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":0,"due_date":"2026-03-31"}`, "data.amount", "must be a number > 0 with at most 2 decimals"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":-5,"due_date":"2026-03-31"}`, "data.amount", "must be a number > 0 with at most 2 decimals"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":1.005,"due_date":"2026-03-31"}`, "data.amount", "must be a number > 0 with at most 2 decimals"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":1}`, "data.due_date", "required"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":1,"due_date":"2026-02-29"}`, "data.due_date", "must be a date YYYY-MM-DD"},
		{TypeInvoiceIssued, `{"invoice_id":"i","amount":1,"due_date":20260301}`, "data.due_date", "must be a date YYYY-MM-DD"},
		{TypePaymentReceived, `{"invoice_id":"i"}`, "data.amount", "required"},
		{TypePaymentReceived, `{"invoice_id":"i","amount":"10"}`, "data.amount", "must be a number > 0"},
		{TypePaymentReceived, `{"invoice_id":"i","amount":1.5e-3}`, "data.amount", "at most 2 decimals"},
		{TypeInvoiceVoided, `{}`, "data.invoice_id", "required"},
		// nps.responded
		{TypeNPSResponded, `{}`, "data.score", "required"},
		{TypeNPSResponded, `{"score":7.5}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":"7"}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":11}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":-1}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":1e2}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":true}`, "data.score", "must be an integer 0..10"},
		{TypeNPSResponded, `{"score":9,"comment":{"text":"x"}}`, "data.comment", "must be a string"},
		// kpi.reported
		{TypeKPIReported, `{"target":1,"actual":1}`, "data.kpi", "required"},
		{TypeKPIReported, `{"kpi":"leads","actual":1}`, "data.target", "required"},
		{TypeKPIReported, `{"kpi":"leads","target":0,"actual":1}`, "data.target", "must be a number, 0.000001 ≤ target"},
		{TypeKPIReported, `{"kpi":"leads","target":"5","actual":1}`, "data.target", "must be a number, 0.000001 ≤ target"},
		{TypeKPIReported, `{"kpi":"leads","target":5}`, "data.actual", "required"},
		{TypeKPIReported, `{"kpi":"leads","target":5,"actual":-0.5}`, "data.actual", "must be a number, 0 ≤ actual"},
		{TypeKPIReported, `{"kpi":"leads","target":5,"actual":1,"higher_is_better":"yes"}`, "data.higher_is_better", "must be true or false"},
		// signals
		{TypeSignalRaised, `{"kind":"budget_cut"}`, "data.signal_id", "required"},
		{TypeSignalRaised, `{"signal_id":"s"}`, "data.kind", "required"},
		{TypeSignalRaised, `{"signal_id":"s","kind":"meh"}`, "data.kind", "must be a risk kind (scope_dispute"},
		{TypeSignalResolved, `{}`, "data.signal_id", "required"},
		{TypeReferralMade, `{"referred":1}`, "data.referred", "must be a string"},
		{TypePortalLogin, `{"contact":false}`, "data.contact", "must be a string"},
		// time.logged
		{TypeTimeLogged, `{"hours":1}`, "data.manager_id", "required"},
		{TypeTimeLogged, `{"manager_id":"am-1"}`, "data.hours", "required"},
		{TypeTimeLogged, `{"manager_id":"am-1","hours":0}`, "data.hours", "must be a number of hours, 0 < h ≤ 24"},
		{TypeTimeLogged, `{"manager_id":"am-1","hours":24.01}`, "data.hours", "0 < h ≤ 24"},
		{TypeTimeLogged, `{"manager_id":"am-1","hours":1,"billable":"true"}`, "data.billable", "must be true or false"},
		// health overrides
		{TypeHealthOverridden, `{"reason":"r","author":"a"}`, "data.band", "required"},
		{TypeHealthOverridden, `{"band":"blue","reason":"r","author":"a"}`, "data.band", "must be one of green, yellow, red"},
		{TypeHealthOverridden, `{"band":"unknown","reason":"r","author":"a"}`, "data.band", "must be one of green, yellow, red"},
		{TypeHealthOverridden, `{"band":"red","author":"a"}`, "data.reason", "required"},
		{TypeHealthOverridden, `{"band":"red","reason":"r","author":""}`, "data.author", "must be a non-empty string"},
		{TypeHealthOverridden, `{"band":"red","reason":"r","author":"a","expires_at":"tomorrow"}`, "data.expires_at", "must be RFC 3339, e.g. 2026-03-01T09:30:00Z"},
		{TypeHealthOverridden, `{"band":"red","reason":"r","author":"a","expires_at":"2026-04-01"}`, "data.expires_at", "must be RFC 3339"},
		{TypeHealthOverridden, `{"band":"red","reason":"r","author":"a","expires_at":"2026-03-01T09:30:00Z"}`, "data.expires_at", "must be after the event's time"},
		// managers
		{TypeManagerJoined, `{}`, "data.name", "required"},
		{TypeManagerJoined, `{"name":"Ann","capacity_points":0}`, "data.capacity_points", "must be a number, 0.01 ≤ points ≤ 1000000"},
		{TypeManagerJoined, `{"name":"Ann","weekly_hours":0}`, "data.weekly_hours", "must be a number of hours, 0.01 ≤ h ≤ 168"},
		{TypeManagerJoined, `{"name":"Ann","weekly_hours":168.5}`, "data.weekly_hours", "0.01 ≤ h ≤ 168"},
		{TypeManagerUpdated, `{}`, "data", "must set at least one of name, capacity_points, weekly_hours"},
		{TypeManagerUpdated, `{"name":null}`, "data.name", "may not be null"},
		{TypeManagerUpdated, `{"capacity_points":null}`, "data.capacity_points", "may not be null"},
		{TypeManagerUpdated, `{"capacity_points":-1}`, "data.capacity_points", "0.01 ≤ points"},
		// data itself
		{TypeManagerLeft, `[]`, "data", "must be a JSON object"},
		{TypeHealthOverrideCleared, `"x"`, "data", "must be a JSON object"},
		{TypeNPSResponded, `null`, "data", "required"},
		{TypeNPSResponded, `{"score":9,"score":3}`, "data.score", "appears more than once"},
	}
	for _, tt := range tests {
		t.Run(string(tt.typ)+" "+tt.data, func(t *testing.T) {
			_, err := Parse(event(string(tt.typ), tt.data), testNow)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			checkFieldErr(t, err, tt.field, tt.msg)
		})
	}
}

func TestUnknownDataFieldsKept(t *testing.T) {
	data := `{"score": 9, "extra": {"nested": [1, 2.50, "<b>"]}, "z": null}`
	e, err := Parse(event("nps.responded", data), testNow)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"score":9,"extra":{"nested":[1,2.50,"<b>"]},"z":null}`; string(e.Data) != want {
		t.Fatalf("Data = %s, want %s", e.Data, want)
	}
	if e.Payload != (NPSResponded{Score: 9}) {
		t.Fatalf("Payload = %#v", e.Payload)
	}
	out, err := e.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), `"data":{"score":9,"extra":{"nested":[1,2.50,"<b>"]},"z":null}`) {
		t.Fatalf("MarshalJSON = %s", out)
	}
}

func TestOptAbsentVersusNull(t *testing.T) {
	e, err := Parse(event("account.updated", `{"mrr":250,"tier":null}`), testNow)
	if err != nil {
		t.Fatal(err)
	}
	u := e.Payload.(AccountUpdated)
	if u.Name.Set {
		t.Errorf("absent name is Set")
	}
	if !u.Tier.Set || !u.Tier.Null {
		t.Errorf("null tier = %+v, want Set and Null", u.Tier)
	}
	if !u.MRR.Set || u.MRR.Null || u.MRR.Value != 25000 {
		t.Errorf("mrr = %+v, want value 25000", u.MRR)
	}
	if u.RenewalDate.Set || u.SLAResponseHours.Set {
		t.Errorf("absent fields set: %+v", u)
	}
}

func TestEnums(t *testing.T) {
	for _, k := range []SignalKind{SignalScopeDispute, SignalCompetitorMention, SignalNewStakeholder, SignalScopeReduction,
		SignalProjectCanceled, SignalBudgetCut, SignalChampionLeft, SignalOtherRisk} {
		if !k.IsRisk() || k.IsOpportunity() || !k.Valid() {
			t.Errorf("%s: want risk only", k)
		}
	}
	for _, k := range []SignalKind{SignalExpansionInterest, SignalNewMarket, SignalStrongResults, SignalNewBudget, SignalOtherOpportunity} {
		if k.IsRisk() || !k.IsOpportunity() || !k.Valid() {
			t.Errorf("%s: want opportunity only", k)
		}
	}
	if SignalKind("risk").Valid() || Tier("").Valid() || Status("open").Valid() || Channel("sms").Valid() ||
		Direction("").Valid() || Party("vendor").Valid() || BandUnknown.Valid() {
		t.Errorf("an invalid value is Valid")
	}
	if !TierBronze.Valid() || !StatusOnHold.Valid() || !ChannelPortal.Valid() || !DirectionOutbound.Valid() ||
		!PartyAgency.Valid() || !BandYellow.Valid() {
		t.Errorf("a valid value is not Valid")
	}
}

func TestTypes(t *testing.T) {
	types := Types()
	if len(types) != 25 {
		t.Fatalf("%d types, want 25", len(types))
	}
	managers := 0
	for _, typ := range types {
		if !typ.Known() {
			t.Errorf("%s not Known", typ)
		}
		if typ.IsManagerEvent() {
			managers++
			if !strings.HasPrefix(string(typ), "manager.") {
				t.Errorf("%s is a manager event", typ)
			}
		}
	}
	if managers != 3 {
		t.Errorf("%d manager types, want 3", managers)
	}
	for _, typ := range []Type{"", "foo.bar", "Account.Opened", "account.opened "} {
		if typ.Known() {
			t.Errorf("%q is Known", typ)
		}
	}
}
