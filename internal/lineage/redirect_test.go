package lineage_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
)

// recordingServer answers 201 and remembers each request's path and
// Authorization header.
type recordingServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string // "METHOD path auth"
}

func newRecordingServer(t *testing.T, redirect func(w http.ResponseWriter, r *http.Request) bool) *recordingServer {
	t.Helper()
	s := &recordingServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
		s.mu.Unlock()
		if redirect != nil && redirect(w, r) {
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *recordingServer) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// TestAuthorizationNeverFollowsARedirectToAnotherOrigin: the lineage
// server redirects to another port, or another host: the request is not
// followed, so the API key never reaches the other server, and the event
// stays undelivered (kept for a flush) with a message saying why.
func TestAuthorizationNeverFollowsARedirectToAnotherOrigin(t *testing.T) {
	const key = "s3cr3t-key"
	for _, tc := range []struct {
		name   string
		target func(otherURL string) string
	}{
		{"another port", func(u string) string { return u + "/api/v1/lineage" }},
		{"another host", func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) + "/api/v1/lineage" }},
	} {
		for _, code := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusFound} {
			t.Run(tc.name+"/"+http.StatusText(code), func(t *testing.T) {
				other := newRecordingServer(t, nil)
				front := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) bool {
					http.Redirect(w, r, tc.target(other.URL), code)
					return true
				})
				tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: front.URL, APIKey: key})
				require.NoError(t, err)
				err = tr.Send(context.Background(), testEvent(t, "j"))
				for _, r := range other.requests() {
					require.NotContains(t, r, key, "the API key reached another origin")
				}
				de := asDelivery(t, err)
				require.Equal(t, code, de.Status)
				require.False(t, de.Retryable)
				require.Contains(t, err.Error(), "not followed")
				require.NotContains(t, err.Error(), key)
				require.Equal(t, []string{"POST /api/v1/lineage Bearer " + key}, front.requests())
				require.Empty(t, other.requests(), "nothing, and no key, reaches the other origin")
			})
		}
	}
}

// TestRedirectWithinTheOriginIsFollowed: a 307/308 to another path of
// the same server keeps the POST and the key; a 302/303 would turn the
// POST into a GET (the event would be lost) and is not followed.
func TestRedirectWithinTheOriginIsFollowed(t *testing.T) {
	const key = "k"
	for _, tc := range []struct {
		code      int
		delivered bool
	}{
		{http.StatusTemporaryRedirect, true},
		{http.StatusPermanentRedirect, true},
		{http.StatusFound, false},
		{http.StatusSeeOther, false},
	} {
		t.Run(http.StatusText(tc.code), func(t *testing.T) {
			srv := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path == "/api/v1/lineage" {
					http.Redirect(w, r, "/v2/lineage", tc.code)
					return true
				}
				return false
			})
			tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL, APIKey: key})
			require.NoError(t, err)
			err = tr.Send(context.Background(), testEvent(t, "j"))
			if tc.delivered {
				require.NoError(t, err)
				require.Equal(t, []string{"POST /api/v1/lineage Bearer k", "POST /v2/lineage Bearer k"}, srv.requests())
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), "not followed")
			require.Equal(t, []string{"POST /api/v1/lineage Bearer k"}, srv.requests())
		})
	}
}
