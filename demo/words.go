package demo

// Read-only word lists for names, summaries and notes. They are tables, not
// state: nothing writes to them.

// namePrefixes are the first words of client names.
var namePrefixes = []string{
	"Northwind", "Bluebird", "Summit", "Cedar", "Harbor", "Ironwood", "Silver Lake", "Maple",
	"Redstone", "Granite", "Brightwater", "Oakridge", "Pinecrest", "Lakeside", "Riverbend",
	"Sunrise", "Evergreen", "Copper", "Highland", "Meadowbrook", "Stonegate", "Westfield",
	"Eastgate", "Golden Gate", "Foxglove", "Juniper", "Willow", "Aspen", "Birchwood", "Clearview",
	"Crescent", "Driftwood", "Falcon", "Glacier", "Hawthorne", "Keystone", "Lighthouse",
	"Magnolia", "Nimbus", "Orchard", "Pioneer", "Quarry", "Rosewood", "Sapphire", "Tidewater",
	"Union Square", "Valley", "Whitestone", "Yellowpine", "Zenith", "Acorn", "Beacon", "Cobalt",
	"Dune", "Ember", "Fairway", "Greenleaf", "Horizon", "Indigo", "Jetstream", "Kestrel",
	"Larkspur", "Monarch", "Northstar", "Olive Branch", "Paragon", "Quill", "Ridgeline",
	"Saltmarsh", "Thistle", "Upland", "Vantage", "Wildflower", "Bayview", "Coastal", "Prairie",
	"Harborview", "Blue Heron", "Red Fox", "Tall Pines",
}

// industry is a client's industry with the name suffixes that fit it.
type industry struct {
	name     string
	suffixes []string
}

// industries are the clients' industries.
var industries = []industry{
	{"healthcare", []string{"Dental", "Family Clinic", "Pharmacy", "Physiotherapy", "Veterinary", "Orthodontics"}},
	{"legal", []string{"Law Group", "Legal", "Attorneys", "Notary"}},
	{"real_estate", []string{"Realty", "Properties", "Homes", "Property Management"}},
	{"hospitality", []string{"Hotels", "Bistro", "Coffee Roasters", "Brewing Co.", "Catering"}},
	{"retail", []string{"Outfitters", "Boutique", "Home Goods", "Bikes", "Garden Center", "Pet Supply"}},
	{"software", []string{"Software", "Analytics", "Labs", "Cloud", "Systems"}},
	{"manufacturing", []string{"Manufacturing", "Tooling", "Plastics", "Fabrication", "Metalworks"}},
	{"finance", []string{"Capital", "Wealth Advisors", "Credit Union", "Insurance", "Accounting"}},
	{"education", []string{"Academy", "Learning", "Tutoring", "Language School"}},
	{"logistics", []string{"Logistics", "Freight", "Movers", "Couriers"}},
	{"construction", []string{"Builders", "Roofing", "Construction", "Landscaping"}},
	{"nonprofit", []string{"Foundation", "Trust", "Community Fund"}},
}

// cities qualify a name now and then ("Summit Dental Austin").
var cities = []string{
	"Austin", "Denver", "Portland", "Boston", "Tampa", "Raleigh", "Omaha", "Tucson", "Madison",
	"Boise", "Richmond", "Savannah", "Spokane", "Albany", "Fresno",
}

// firstNames and lastNames make people: managers and client contacts.
var firstNames = []string{
	"Dana", "Priya", "Marcus", "Elena", "Tomás", "Aisha", "Jonas", "Mei", "Liam", "Sofia",
	"Noah", "Amara", "Lucas", "Hana", "Omar", "Grace", "Felix", "Zoe", "Ravi", "Nora",
	"Diego", "Ingrid", "Kwame", "Chloe", "Mateo", "Yuki", "Samir", "Leah", "Viktor", "Isla",
	"Andre", "Fatima", "Hugo", "Keira", "Bruno", "Maya", "Theo", "Lina", "Emeka", "Rosa",
}

var lastNames = []string{
	"Whitfield", "Natarajan", "Okafor", "Lindqvist", "Moreno", "Haddad", "Becker", "Tanaka",
	"O'Brien", "Rossi", "Kowalski", "Mensah", "Dubois", "Sato", "Farouk", "Nguyen", "Schmidt",
	"Alvarez", "Kaur", "Petrov", "Andersen", "Castillo", "Fischer", "Ibrahim", "Jansen", "Khan",
	"Larsen", "Murphy", "Novak", "Osei", "Park", "Quinn", "Reyes", "Silva", "Torres", "Varga",
	"Walsh", "Young", "Zimmerman", "Abbott",
}

// touchpointSummaries are summaries by channel.
var touchpointSummaries = map[string][]string{
	"email":     {"Sent monthly report", "Shared campaign draft for review", "Follow-up on open questions", "Sent invoice reminder", "Shared creative options"},
	"call":      {"Weekly status call", "Budget check-in", "Quick sync on priorities", "Escalation call", "Quarterly planning call"},
	"chat":      {"Answered question about dashboard", "Coordinated asset delivery", "Clarified brief"},
	"meeting":   {"Strategy workshop", "Quarterly business review", "Creative review"},
	"in_person": {"On-site visit", "Lunch with the client team", "Trade show booth visit"},
	"portal":    {"Uploaded deliverables to the portal", "Published report in the portal"},
	"other":     {"Sent a handwritten note", "LinkedIn message"},
}

// touchpointChannels are the channels with weights (percent).
var touchpointChannels = []weighted{
	{"email", 38}, {"call", 22}, {"chat", 12}, {"meeting", 10}, {"in_person", 5}, {"portal", 8}, {"other", 5},
}

// messageChannels are the channels of inbound client messages.
var messageChannels = []weighted{{"email", 70}, {"chat", 20}, {"portal", 10}}

// weighted is a choice with a relative weight.
type weighted struct {
	value  string
	weight int
}

// riskKinds and opportunityKinds are the signal kinds of docs/events.md
// (signal.raised).
var riskKinds = []string{
	"scope_dispute", "competitor_mention", "new_stakeholder", "scope_reduction",
	"project_canceled", "budget_cut", "champion_left", "other_risk",
}

var opportunityKinds = []string{
	"expansion_interest", "new_market", "strong_results", "new_budget", "other_opportunity",
}

// signalNotes are notes by signal kind.
var signalNotes = map[string][]string{
	"scope_dispute":      {"Client questions what the retainer covers", "Disagreement over extra revisions"},
	"competitor_mention": {"Client mentioned a pitch from another agency", "CMO asked how our rates compare"},
	"new_stakeholder":    {"New marketing director started", "Procurement now involved in renewals"},
	"scope_reduction":    {"Client wants to drop the social retainer", "Asked to pause paid search"},
	"project_canceled":   {"Website relaunch canceled", "Rebrand project put on ice"},
	"budget_cut":         {"Marketing budget cut for next quarter", "CFO froze discretionary spend"},
	"champion_left":      {"Our main contact left the company", "Sponsor moved to another role"},
	"other_risk":         {"Complaint about report delays", "Unhappy with last campaign"},
	"expansion_interest": {"Asked about adding LinkedIn ads", "Interested in a second location launch"},
	"new_market":         {"Entering a new region next year", "Launching a product line"},
	"strong_results":     {"Record quarter for inbound leads", "Campaign beat its goals by 30%"},
	"new_budget":         {"New budget approved for H2", "Board approved a larger marketing budget"},
	"other_opportunity":  {"Asked for a proposal on video production", "Sister company needs an agency"},
}

// npsComments are comments by NPS category.
var npsComments = map[string][]string{
	"promoter":  {"Great team, always responsive", "Results speak for themselves", "Feels like part of our team"},
	"passive":   {"Good work, reporting could be clearer", "Fine overall, a bit slow lately"},
	"detractor": {"Too slow to respond", "Not seeing the results we were promised", "Too expensive for what we get"},
}

// overrideReasons are reasons for manual health overrides, by band.
var overrideReasons = map[string][]string{
	"red":    {"Executive escalation in progress", "CEO unhappy after board meeting"},
	"yellow": {"Renewal negotiation is tense", "Key contact on leave, watch closely"},
	"green":  {"KPI feed broken, results actually on target", "Invoices delayed by client's ERP migration"},
}

// holdReasons and churnReasons are status change reasons.
var churnReasons = []string{"competitor", "budget", "closed", "acquired"}
