package lineagetest

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is what the test server answers to one request instead of
// accepting it. A zero Status accepts the request normally (after Delay).
type Fault struct {
	Status int
	Header map[string]string
	Body   string
	Delay  time.Duration // wait before answering (ends early if the client gives up)
}

// FaultFunc decides the fault for the n-th request (from 1).
type FaultFunc func(n int, r *http.Request) Fault

// Request is what the server saw of one request.
type Request struct {
	Path    string
	Header  http.Header
	Body    []byte // decompressed
	Gzipped bool
}

// Server is a lineage backend in the test process, like Marquez's
// POST /api/v1/lineage: it validates every event it receives against the
// schemas, answers 201 for a valid one and 400 for an invalid one, and
// injects faults on request.
type Server struct {
	*httptest.Server
	Path string // endpoint path, default /api/v1/lineage

	v     *Validator
	fault FaultFunc

	mu       sync.Mutex
	n        int
	events   [][]byte
	invalid  []error
	requests []Request
}

// NewServer starts a server closed at the end of the test. fault may be
// nil.
func NewServer(t testing.TB, fault FaultFunc) *Server {
	t.Helper()
	v, err := New()
	if err != nil {
		t.Fatalf("lineagetest: %v", err)
	}
	s := &Server{Path: "/api/v1/lineage", v: v, fault: fault}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Server.Close)
	return s
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	body := io.Reader(r.Body)
	gz := strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip")
	if gz {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.n++
	n := s.n
	s.requests = append(s.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: data, Gzipped: gz})
	s.mu.Unlock()

	var f Fault
	if s.fault != nil {
		f = s.fault(n, r)
	}
	if f.Delay > 0 {
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status != 0 {
		for k, v := range f.Header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(f.Status)
		_, _ = io.WriteString(w, f.Body)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != s.Path {
		http.Error(w, fmt.Sprintf("want POST %s, got %s %s", s.Path, r.Method, r.URL.Path), http.StatusNotFound)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "Content-Type must be application/json, got "+ct, http.StatusUnsupportedMediaType)
		return
	}
	if err := s.v.ValidateEvent(data); err != nil {
		s.mu.Lock()
		s.invalid = append(s.invalid, err)
		s.mu.Unlock()
		http.Error(w, "invalid event: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, data)
	s.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// Events returns the accepted (valid) events in arrival order.
func (s *Server) Events() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.events...)
}

// Invalid returns the validation errors of rejected events.
func (s *Server) Invalid() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.invalid...)
}

// Requests returns every request received, faulted or not.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}
