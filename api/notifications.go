package api

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/vitals-hq/vitals/notify"
)

// Paging of GET /v1/notifications.
const (
	defaultNotificationsLimit = 100
	maxNotificationsLimit     = 1000
	// maxNotificationsScan bounds the outbox entries one request reads
	// when filtering by type; next_cursor continues after the last one.
	maxNotificationsScan = 10_000
)

// notificationPage is the answer of GET /v1/notifications.
type notificationPage struct {
	Head       uint64            `json:"head"`
	Items      []json.RawMessage `json:"items"`
	NextCursor string            `json:"next_cursor"`
}

// notifications handles GET /v1/notifications?after=&limit=&type=: the
// derived events (CloudEvents, as webhooks carry them) with a sequence
// number after the cursor, oldest first. next_cursor is always set: pass
// it as ?after= to continue (an empty page returns the cursor it was
// given). head is the outbox's last sequence number when the page was
// read: every event up to it is on this page or a later one.
func (s *Server) notifications(w http.ResponseWriter, r *http.Request) {
	limit, err := intParam(r, "limit", defaultNotificationsLimit, 1, maxNotificationsLimit)
	if err != nil {
		writeError(w, err)
		return
	}
	var after uint64
	if c := r.URL.Query().Get("after"); c != "" {
		if after, err = strconv.ParseUint(c, 10, 64); err != nil {
			writeError(w, badRequest("after: not a cursor returned by this endpoint"))
			return
		}
	}
	var types []string
	if t := r.URL.Query().Get("type"); t != "" {
		types = strings.Split(t, ",")
		for _, typ := range types {
			if !slices.Contains(notify.Types(), typ) {
				writeError(w, badRequest("type: unknown notification type %q (one of %s)", typ, strings.Join(notify.Types(), ", ")))
				return
			}
		}
	}
	ob := s.cfg.Notifications
	head, err := ob.Head(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	page := notificationPage{Head: head, Items: []json.RawMessage{}}
	cursor, scanned := after, 0
	for len(page.Items) < limit && cursor < head && scanned < maxNotificationsScan {
		chunk := min(limit-len(page.Items), maxReadChunk)
		if types != nil {
			chunk = maxReadChunk // most entries may not match
		}
		ns, err := ob.Read(r.Context(), cursor, chunk)
		if err != nil {
			writeError(w, err)
			return
		}
		if len(ns) == 0 {
			break
		}
		for _, n := range ns {
			if n.Seq > head || len(page.Items) == limit {
				break
			}
			cursor = n.Seq
			scanned++
			if types == nil || slices.Contains(types, n.Type) {
				page.Items = append(page.Items, n.Event)
			}
		}
	}
	page.NextCursor = strconv.FormatUint(cursor, 10)
	writeJSON(w, http.StatusOK, page)
}
