package lineage_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// testEvent returns a valid encoded START event for job name.
func testEvent(t testing.TB, name string) []byte {
	t.Helper()
	ev := lineage.NewRunEvent(lineage.EventStart, lineage.Run{RunID: lineage.NewRunID()}, lineage.Job{Namespace: "default", Name: name})
	b, err := lineage.Marshal(ev)
	require.NoError(t, err)
	return b
}

// refusedURL returns an http URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "http://" + addr
}

func asDelivery(t *testing.T, err error) *lineage.DeliveryError {
	t.Helper()
	var de *lineage.DeliveryError
	require.True(t, errors.As(err, &de), "want a DeliveryError, got %T: %v", err, err)
	return de
}

func TestConsoleTransportLinesNeverInterleave(t *testing.T) {
	var buf syncBuffer
	c := lineage.NewConsoleTransport(&buf)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			require.NoError(t, c.Send(context.Background(), testEvent(t, fmt.Sprintf("job%d", i))))
		}()
	}
	wg.Wait()
	require.NoError(t, c.Close())
	v, err := lineagetest.New()
	require.NoError(t, err)
	n, err := v.ValidateLines(buf.Bytes())
	require.NoError(t, err)
	require.Equal(t, 20, n)
	require.Equal(t, "console", c.String())

	err = lineage.NewConsoleTransport(failWriter{}).Send(context.Background(), testEvent(t, "x"))
	require.False(t, asDelivery(t, err).Retryable, "a broken stream is not retried")
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

func TestFileTransport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deep", "er", "events.jsonl")
	ft := lineage.NewFileTransport(path, true)
	require.NoError(t, ft.Send(context.Background(), testEvent(t, "a")))
	require.NoError(t, ft.Send(context.Background(), testEvent(t, "b")))
	require.NoError(t, ft.Close())
	require.NoError(t, ft.Close(), "closing twice is fine")
	// Appending: a second transport adds to the same file.
	ft2 := lineage.NewFileTransport(path, true)
	require.NoError(t, ft2.Send(context.Background(), testEvent(t, "c")))
	require.NoError(t, ft2.Close())
	require.Equal(t, 3, countLines(t, path))
	require.Equal(t, "file("+path+")", ft2.String())

	// append: false writes each event to a file of its own,
	// path-YYYYMMDD-HHMMSS.ffffff.json, as the Python client does; names
	// sort in the order the events were sent, even within one microsecond.
	ft3 := lineage.NewFileTransport(path, false)
	for _, name := range []string{"d", "e", "f"} {
		require.NoError(t, ft3.Send(context.Background(), testEvent(t, name)))
	}
	require.NoError(t, ft3.Close())
	require.Equal(t, 3, countLines(t, path), "the appended file is left alone")
	own, err := filepath.Glob(path + "-*.json")
	require.NoError(t, err)
	require.Len(t, own, 3)
	v, err := lineagetest.New()
	require.NoError(t, err)
	for i, f := range own {
		require.Regexp(t, `-\d{8}-\d{6}\.\d{6}\.json$`, f)
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = v.ValidateLines(b)
		require.NoError(t, err)
		require.Contains(t, string(b), `"name":"`+[]string{"d", "e", "f"}[i]+`"`)
	}

	// A directory where the file should be: a retryable failure.
	dir := t.TempDir()
	err = lineage.NewFileTransport(dir, true).Send(context.Background(), testEvent(t, "x"))
	require.True(t, asDelivery(t, err).Retryable)
	blocker := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(blocker, nil, 0o644))
	err = lineage.NewFileTransport(filepath.Join(blocker, "sub", "ev.jsonl"), true).Send(context.Background(), testEvent(t, "x"))
	require.Error(t, err)
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

type fakeTransport struct {
	name string
	err  error
	mu   sync.Mutex
	got  [][]byte
}

func (f *fakeTransport) Send(_ context.Context, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.got = append(f.got, b)
	return nil
}
func (f *fakeTransport) Close() error   { return f.err }
func (f *fakeTransport) String() string { return f.name }

func TestCompositeTransport(t *testing.T) {
	a, b := &fakeTransport{name: "a"}, &fakeTransport{name: "b"}
	inner := lineage.NewCompositeTransport(b, nil)
	c := lineage.NewCompositeTransport(a, inner)
	require.Len(t, c.Members(), 2, "nested composites are flattened")
	require.Equal(t, "composite(a, b)", c.String())
	require.NoError(t, c.Send(context.Background(), []byte("{}")))
	require.Len(t, a.got, 1)
	require.Len(t, b.got, 1)
	require.NoError(t, c.Close())

	b.err = &lineage.DeliveryError{Transport: "b", Status: 401, Detail: "nope"}
	err := c.Send(context.Background(), []byte("{}"))
	require.False(t, asDelivery(t, err).Retryable)
	require.Contains(t, err.Error(), "nope")
	require.Error(t, c.Close())

	b.err = &lineage.DeliveryError{Transport: "b", Status: 503, Retryable: true, RetryAfter: 2 * time.Second}
	err = c.Send(context.Background(), []byte("{}"))
	de := asDelivery(t, err)
	require.True(t, de.Retryable)
	require.Equal(t, 2*time.Second, de.RetryAfter)
	b.err = errors.New("unknown trouble")
	require.True(t, asDelivery(t, c.Send(context.Background(), []byte("{}"))).Retryable)

	var none lineage.NoneTransport
	require.NoError(t, none.Send(context.Background(), nil))
	require.NoError(t, none.Close())
}

func TestHTTPTransportRequest(t *testing.T) {
	srv := lineagetest.NewServer(t, nil)
	srv.Path = "/base/api/v1/lineage"
	for _, gz := range []bool{false, true} {
		tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{
			URL: srv.URL + "/base/", APIKey: secretKey, Compression: map[bool]string{true: "gzip"}[gz],
			CustomHeaders: map[string]string{"X-Team": "sales"},
		})
		require.NoError(t, err)
		require.NoError(t, tr.Send(context.Background(), testEvent(t, "job")))
		require.NoError(t, tr.Close())
		reqs := srv.Requests()
		last := reqs[len(reqs)-1]
		require.Equal(t, "/base/api/v1/lineage", last.Path)
		require.Equal(t, "Bearer "+secretKey, last.Header.Get("Authorization"))
		require.Equal(t, "sales", last.Header.Get("X-Team"))
		require.Equal(t, gz, last.Gzipped)
		require.NotContains(t, tr.String(), secretKey)
	}
	require.Len(t, srv.Events(), 2)

	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL + "/base/", Endpoint: "custom/ep"})
	require.NoError(t, err)
	srv.Path = "/base/custom/ep"
	require.NoError(t, tr.Send(context.Background(), testEvent(t, "job")))
	require.Empty(t, srv.Requests()[2].Header.Get("Authorization"))
}

// TestHTTPURLJoin: url and endpoint are joined as the Python client's
// urljoin(url, endpoint) joins them; each want is what Python 3.11's
// urllib.parse.urljoin returns for the pair.
func TestHTTPURLJoin(t *testing.T) {
	cases := []struct{ url, endpoint, want string }{
		{"http://host:5000", "", "http://host:5000/api/v1/lineage"},
		{"http://host:5000", "api/v1/lineage", "http://host:5000/api/v1/lineage"},
		{"http://host:5000/", "api/v1/lineage", "http://host:5000/api/v1/lineage"},
		{"http://host:5000/prefix", "api/v1/lineage", "http://host:5000/api/v1/lineage"},
		{"http://host:5000/prefix/", "api/v1/lineage", "http://host:5000/prefix/api/v1/lineage"},
		{"http://host:5000/prefix/", "/api/v1/lineage", "http://host:5000/api/v1/lineage"},
		{"http://host:5000/a/b", "../c", "http://host:5000/c"},
		{"http://host:5000/p?x=1", "api", "http://host:5000/api"},
		{"http://host:5000/p", "https://other:1/x", "https://other:1/x"},
		{"http://host:5000/p/", "api/v1/lineage?x=1", "http://host:5000/p/api/v1/lineage?x=1"},
	}
	for _, tc := range cases {
		t.Run(tc.url+" + "+tc.endpoint, func(t *testing.T) {
			tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: tc.url, Endpoint: tc.endpoint})
			require.NoError(t, err)
			require.Equal(t, "http("+tc.want+")", tr.String())
		})
	}
	// End to end: a server behind a path prefix receives at the joined path.
	srv := lineagetest.NewServer(t, nil)
	srv.Path = "/api/v1/lineage"
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL + "/prefix"})
	require.NoError(t, err)
	require.NoError(t, tr.Send(context.Background(), testEvent(t, "job")))
	require.Equal(t, "/api/v1/lineage", srv.Requests()[0].Path)
}

func TestHTTPTransportStatuses(t *testing.T) {
	cases := []struct {
		name       string
		fault      lineagetest.Fault
		wantErr    bool
		retryable  bool
		retryAfter time.Duration
		detail     string
	}{
		{name: "200 ok", fault: lineagetest.Fault{Status: 200}},
		{name: "202 accepted", fault: lineagetest.Fault{Status: 202}},
		{name: "204 no content", fault: lineagetest.Fault{Status: 204}},
		{name: "400 not retried", fault: lineagetest.Fault{Status: 400, Body: "\n  bad event: missing run\nmore detail\n"}, wantErr: true, detail: "bad event: missing run"},
		{name: "401 not retried, key redacted", fault: lineagetest.Fault{Status: 401, Body: "invalid token " + secretKey}, wantErr: true, detail: "invalid token ***"},
		{name: "404 empty body shows status", fault: lineagetest.Fault{Status: 404}, wantErr: true, detail: "404 Not Found"},
		{name: "408 retried", fault: lineagetest.Fault{Status: 408}, wantErr: true, retryable: true},
		{name: "429 with seconds", fault: lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "7"}}, wantErr: true, retryable: true, retryAfter: 7 * time.Second},
		{name: "429 with junk", fault: lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "soon"}}, wantErr: true, retryable: true},
		{name: "429 negative", fault: lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": "-3"}}, wantErr: true, retryable: true},
		{name: "503 retried", fault: lineagetest.Fault{Status: 503, Body: strings.Repeat("x", 500)}, wantErr: true, retryable: true, detail: strings.Repeat("x", 200) + "..."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return tc.fault })
			tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL, APIKey: secretKey})
			require.NoError(t, err)
			err = tr.Send(context.Background(), testEvent(t, "job"))
			if !tc.wantErr {
				require.NoError(t, err)
				return
			}
			de := asDelivery(t, err)
			require.Equal(t, tc.fault.Status, de.Status)
			require.Equal(t, tc.retryable, de.Retryable)
			require.Equal(t, tc.retryAfter, de.RetryAfter)
			if tc.detail != "" {
				require.Equal(t, tc.detail, de.Detail)
			}
			require.Contains(t, err.Error(), fmt.Sprintf("HTTP %d", tc.fault.Status))
			require.NotContains(t, err.Error(), secretKey)
		})
	}
}

func TestHTTPTransportRetryAfterDate(t *testing.T) {
	when := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault {
		return lineagetest.Fault{Status: 429, Header: map[string]string{"Retry-After": when}}
	})
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL})
	require.NoError(t, err)
	de := asDelivery(t, tr.Send(context.Background(), testEvent(t, "job")))
	require.Greater(t, de.RetryAfter, 60*time.Second)
	require.LessOrEqual(t, de.RetryAfter, 91*time.Second)
}

func TestHTTPTransportNetworkErrors(t *testing.T) {
	// Connection refused, with credentials in the URL that must not show.
	u := strings.Replace(refusedURL(t), "http://", "http://user:"+secretKey+"@", 1)
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: u, APIKey: secretKey})
	require.NoError(t, err)
	err = tr.Send(context.Background(), testEvent(t, "job"))
	de := asDelivery(t, err)
	require.True(t, de.Retryable)
	require.Contains(t, err.Error(), "refused")
	require.NotContains(t, err.Error(), secretKey)
	require.NotContains(t, tr.String(), secretKey)

	// A response slower than the timeout.
	srv := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Delay: 5 * time.Second} })
	tr, err = lineage.NewHTTPTransport(lineage.HTTPConfig{URL: srv.URL, Timeout: 50 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	err = tr.Send(context.Background(), testEvent(t, "job"))
	require.Less(t, time.Since(start), 3*time.Second, "the timeout bounds the request")
	de = asDelivery(t, err)
	require.True(t, de.Retryable)
	require.Contains(t, err.Error(), "no response within 50ms")
}

func TestHTTPTransportConfigErrors(t *testing.T) {
	for _, u := range []string{"", "localhost:5000", "ftp://host", "http://", "://bad"} {
		_, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: u})
		require.Error(t, err, u)
	}
	_, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: "http://x", Compression: "zstd"})
	require.Error(t, err)
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: "https://x", Compression: "none", InsecureSkipVerify: true})
	require.NoError(t, err)
	require.Equal(t, "http(https://x/api/v1/lineage)", tr.String())
	tr, err = lineage.NewHTTPTransport(lineage.HTTPConfig{URL: "https://x", Compression: "GZIP", APIKey: "k", Client: http.DefaultClient})
	require.NoError(t, err)
	require.Equal(t, "http(https://x/api/v1/lineage, api key set, gzip)", tr.String())
	require.NoError(t, tr.Close())
}

func TestDeliveryErrorUnwraps(t *testing.T) {
	cause := errors.New("disk full")
	err := &lineage.DeliveryError{Transport: "file(x)", Err: cause}
	require.ErrorIs(t, err, cause)
	require.Equal(t, "file(x): disk full", err.Error())
	require.Equal(t, "file(x)", (&lineage.DeliveryError{Transport: "file(x)"}).Error())
}
