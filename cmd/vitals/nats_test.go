package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// TestServeConsumesFromNATS: serve --nats-url appends events published on
// the JetStream subject, the same as if they had been posted.
func TestServeConsumesFromNATS(t *testing.T) {
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(30 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	url := startServer(t, "--nats-url", ns.ClientURL())

	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{
		`{"specversion":"1.0","id":"a1","source":"crm","type":"account.opened","subject":"acme","time":"2026-01-01T00:00:00Z","data":{"name":"Acme","mrr":100}}`,
		`{"specversion":"1.0","id":"n1","source":"survey","type":"nps.responded","subject":"acme","time":"2026-01-02T00:00:00Z","data":{"score":9}}`,
	} {
		if _, err := js.Publish("vitals.events", []byte(e)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(url + "/v1/accounts/acme/events")
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Events []struct{ ID string } `json:"events"`
		}
		json.NewDecoder(res.Body).Decode(&page)
		res.Body.Close()
		if len(page.Events) == 2 && page.Events[0].ID == "a1" && page.Events[1].ID == "n1" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events from NATS not stored within a minute: status %d, %+v", res.StatusCode, page.Events)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
