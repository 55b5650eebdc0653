package eventstore_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/vitals-hq/vitals/eventstore"
)

func TestValidate(t *testing.T) {
	good := eventstore.EventData{Key: "k", Type: "t"}
	long := string(make([]byte, eventstore.MaxKeyLen+1))
	tests := []struct {
		name string
		req  eventstore.AppendRequest
		ok   bool
	}{
		{"good", eventstore.AppendRequest{Stream: "s", Expected: eventstore.AnyVersion, Events: []eventstore.EventData{good}}, true},
		{"exact version", eventstore.AppendRequest{Stream: "s", Expected: 3, Events: []eventstore.EventData{good}}, true},
		{"empty stream", eventstore.AppendRequest{Expected: eventstore.AnyVersion, Events: []eventstore.EventData{good}}, false},
		{"long stream", eventstore.AppendRequest{Stream: string(make([]byte, eventstore.MaxStreamLen+1)), Events: []eventstore.EventData{good}}, false},
		{"no events", eventstore.AppendRequest{Stream: "s", Expected: eventstore.AnyVersion}, false},
		{"empty key", eventstore.AppendRequest{Stream: "s", Events: []eventstore.EventData{good, {Type: "t"}}}, false},
		{"long key", eventstore.AppendRequest{Stream: "s", Events: []eventstore.EventData{{Key: long, Type: "t"}}}, false},
		{"empty type", eventstore.AppendRequest{Stream: "s", Events: []eventstore.EventData{{Key: "k"}}}, false},
		{"expected below -3", eventstore.AppendRequest{Stream: "s", Expected: -4, Events: []eventstore.EventData{good}}, false},
		{"requires", eventstore.AppendRequest{Stream: "s", Events: []eventstore.EventData{good}, Requires: []string{"m"}}, true},
		{"requires empty", eventstore.AppendRequest{Stream: "s", Events: []eventstore.EventData{good}, Requires: []string{""}}, false},
	}
	for _, tt := range tests {
		err := tt.req.Validate()
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, eventstore.ErrInvalid)) {
			t.Errorf("%s: validate = %v", tt.name, err)
		}
	}
}

func TestUniqueKeys(t *testing.T) {
	ev := func(key, data string) eventstore.EventData {
		return eventstore.EventData{Key: key, Type: "t", Data: []byte(data)}
	}
	got := eventstore.UniqueKeys([]eventstore.EventData{ev("x", "1"), ev("y", "2"), ev("x", "3"), ev("z", "4"), ev("y", "5")})
	want := []eventstore.EventData{ev("x", "1"), ev("y", "2"), ev("z", "4")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("uniqueKeys = %+v, want %+v", got, want)
	}
	if got := eventstore.UniqueKeys([]eventstore.EventData{ev("z", ""), ev("z", "")}); len(got) != 1 {
		t.Errorf("eventstore.UniqueKeys(z, z) = %+v, want one event", got)
	}
}
