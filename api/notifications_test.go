package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vitals-hq/vitals/api"
	"github.com/vitals-hq/vitals/notify"
	"github.com/vitals-hq/vitals/projections"
	"github.com/vitals-hq/vitals/scoring"
)

// TestNotificationsFeed: GET /v1/notifications pages the outbox oldest
// first with next_cursor, filters by type, and names a bad parameter.
func TestNotificationsFeed(t *testing.T) {
	ob, err := notify.OpenOutbox(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	at := time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	var ns []notify.Notification
	for i, tr := range []projections.Transition{
		{Kind: projections.TransitionBand, Subject: "acme", From: "green", To: "red"},
		{Kind: projections.TransitionAtRisk, Subject: "acme", From: "", To: "health_red"},
		{Kind: projections.TransitionBand, Subject: "beta", From: "yellow", To: "green"},
	} {
		tr.At, tr.DerivedAt = at.Add(time.Duration(i)*time.Hour), at.Add(time.Duration(i)*time.Hour+15*time.Minute)
		tr.ToAccount = &projections.AccountFacts{Band: scoring.Band(tr.To)}
		n, err := notify.Build("vitals://test", tr)
		if err != nil {
			t.Fatal(err)
		}
		ns = append(ns, n)
	}
	if _, err := ob.Append(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, fullServer(t, api.Config{Notifications: ob}))
	type page struct {
		Head       uint64 `json:"head"`
		NextCursor string `json:"next_cursor"`
		Items      []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"items"`
	}
	get := func(query string, wantStatus int) page {
		t.Helper()
		res, body := request(t, "GET", srv.URL+"/v1/notifications"+query)
		if res.StatusCode != wantStatus {
			t.Fatalf("GET %s: %d %s", query, res.StatusCode, body)
		}
		var p page
		json.Unmarshal(body, &p)
		return p
	}
	p := get("?limit=2", 200)
	if p.Head != 3 || len(p.Items) != 2 || p.Items[0].ID != ns[0].ID || p.Items[1].ID != ns[1].ID || p.NextCursor != "2" {
		t.Fatalf("first page %+v", p)
	}
	p = get("?after="+p.NextCursor, 200)
	if len(p.Items) != 1 || p.Items[0].ID != ns[2].ID || p.NextCursor != "3" {
		t.Fatalf("second page %+v", p)
	}
	if p = get("?after=3", 200); len(p.Items) != 0 || p.NextCursor != "3" {
		t.Fatalf("past the end %+v", p)
	}
	p = get("?type="+notify.TypeBandChanged, 200)
	if len(p.Items) != 2 || p.Items[0].ID != ns[0].ID || p.Items[1].ID != ns[2].ID || p.NextCursor != "3" {
		t.Fatalf("band changes %+v", p)
	}
	get("?type=vitals.nope", 400)
	get("?after=x", 400)
	get("?limit=0", 400)
}
