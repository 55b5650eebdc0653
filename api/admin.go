package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// adminRoutes registers the operator endpoints (scope admin).
func (s *Server) adminRoutes() {
	s.mux.HandleFunc("GET /v1/admin/backup", s.backup)
	s.mux.HandleFunc("GET /v1/admin/stats", s.stats)
}

// backup streams a consistent copy of the embedded store while the server
// keeps running.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Backup == nil {
		writeError(w, &apiError{status: http.StatusNotImplemented, code: "not_supported",
			msg: "this store has no online backup; back up the event store with its own tools"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="vitals-events-%s.db"`, time.Now().UTC().Format("20060102T150405Z")))
	n, err := s.cfg.Backup(r.Context(), w, func(size int64) {
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	})
	if err != nil {
		// Headers are gone once bytes were written; the client sees a short
		// body and the log says why.
		s.cfg.Logger.Error().Err(err).Int64("bytes", n).Msg("backup failed")
		if n == 0 {
			writeError(w, err)
		}
		return
	}
	s.cfg.Logger.Info().Int64("bytes", n).Msg("backup written")
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Stats == nil {
		writeError(w, &apiError{status: http.StatusNotImplemented, code: "not_supported", msg: "no stats available"})
		return
	}
	out, err := s.cfg.Stats(r.Context())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
