package httprec

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestRecorder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		status  int
		bytes   int
	}{
		{"nothing written", func(http.ResponseWriter, *http.Request) {}, 0, 0},
		{"body only", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("hello")) }, 200, 5},
		{"first status wins", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte("ab"))
			w.Write([]byte("c"))
		}, http.StatusTeapot, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			under := httptest.NewRecorder()
			rec := New(under)
			tc.handler(rec, httptest.NewRequest(http.MethodGet, "/", nil))
			if rec.Status != tc.status || rec.Bytes != tc.bytes {
				t.Errorf("recorded %d, %d bytes; want %d, %d", rec.Status, rec.Bytes, tc.status, tc.bytes)
			}
			if tc.bytes > 0 && under.Body.Len() != tc.bytes {
				t.Errorf("underlying writer got %d bytes, want %d", under.Body.Len(), tc.bytes)
			}
		})
	}
}

func TestRecorderUnwrapReachesFlusher(t *testing.T) {
	under := httptest.NewRecorder()
	if err := http.NewResponseController(New(under)).Flush(); err != nil {
		t.Fatalf("flush through the recorder: %v", err)
	}
	if !under.Flushed {
		t.Error("underlying writer not flushed")
	}
}
