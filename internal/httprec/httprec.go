// Package httprec records what a handler answered: the status code and
// the body's size, for access logs and metrics middleware.
package httprec

import "net/http"

// Recorder wraps a ResponseWriter and remembers the first status written
// (200 when the handler writes a body without one) and the body's bytes.
type Recorder struct {
	http.ResponseWriter
	// Status is the answer's status code; 0 while nothing is written.
	Status int
	// Bytes counts the body bytes written.
	Bytes int
}

// New returns a Recorder around w.
func New(w http.ResponseWriter) *Recorder { return &Recorder{ResponseWriter: w} }

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController (Flush, deadlines) reach the
// underlying writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
