package api

import (
	"encoding/json"
	"testing"
)

// TestSplitArray checks splitArray, the fast path of batch parsing, against
// encoding/json: what it accepts, json.Unmarshal reads into the same
// elements; what it refuses is left to json.Unmarshal.
func TestSplitArray(t *testing.T) {
	for _, body := range []string{
		`[]`, ` [ {"a":1} , {"b":[1,2]} ] `, `[{"a":"x"},1,"s",null]`, `[{"a":1,"a":2}]`,
		`[{"a":"\ud800"}]`, "[{\"a\":\"\xff\"}]", `[1,]`, `null`, `{"a":1}`, `[1] [2]`, `[`,
	} {
		fast, ok := splitArray([]byte(body))
		var ref []json.RawMessage
		err := json.Unmarshal([]byte(body), &ref)
		if !ok {
			continue
		}
		if err != nil {
			t.Errorf("splitArray accepted %q, json.Unmarshal refuses it: %v", body, err)
			continue
		}
		if len(fast) != len(ref) {
			t.Errorf("splitArray(%q) has %d elements, json.Unmarshal %d", body, len(fast), len(ref))
			continue
		}
		for i := range fast {
			if string(fast[i]) != string(ref[i]) {
				t.Errorf("splitArray(%q)[%d] = %s, want %s", body, i, fast[i], ref[i])
			}
		}
	}
	if _, ok := splitArray([]byte(`[{"a":1},{"b":2}]`)); !ok {
		t.Error("splitArray refused a valid batch")
	}
}
