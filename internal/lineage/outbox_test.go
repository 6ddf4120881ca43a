package lineage_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

var fastFlush = lineage.FlushOptions{InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// fillOutbox runs the pipeline against a dead backend so that all its
// events land in dir; it returns them in order.
func fillOutbox(t *testing.T, dir, name string) [][]byte {
	t.Helper()
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: refusedURL(t)})
	require.NoError(t, err)
	em := lineage.NewEmitter(lineage.EmitterOptions{Transport: tr, OutboxDir: dir, OutboxName: name, Grace: time.Second,
		InitialBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	res := runPipeline(t, context.Background(), em, pipelineOpts{}, nil)
	rep := em.Close(context.Background())
	require.Equal(t, len(res.emitted), rep.Outboxed)
	return res.emitted
}

func httpTo(t *testing.T, url string) lineage.Transport {
	t.Helper()
	tr, err := lineage.NewHTTPTransport(lineage.HTTPConfig{URL: url, Timeout: time.Second})
	require.NoError(t, err)
	return tr
}

func TestFlushSendsEverythingInOrderAndEmptiesTheOutbox(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	first := fillOutbox(t, dir, "01-first")
	second := fillOutbox(t, dir, "02-second")
	n, err := lineage.Pending(dir)
	require.NoError(t, err)
	require.Equal(t, len(first)+len(second), n)

	srv := lineagetest.NewServer(t, nil)
	rep, err := lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, 2, rep.Files)
	require.Equal(t, n, rep.Sent)
	require.Zero(t, rep.Remaining)
	require.Empty(t, srv.Invalid())
	require.Equal(t, append(asStrings(first), asStrings(second)...), asStrings(srv.Events()), "oldest run first, order kept")
	checkSequence(t, srv.Events()[:len(first)], lineage.EventComplete, nil)
	n, err = lineage.Pending(dir)
	require.NoError(t, err)
	require.Zero(t, n)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		require.False(t, strings.HasSuffix(e.Name(), ".jsonl"), "flushed files are removed: %s", e.Name())
	}
	require.Contains(t, rep.String(), fmt.Sprintf("%d sent, 0 remaining", rep.Sent))

	// Nothing left: a second flush does nothing.
	rep, err = lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Zero(t, rep.Files)
}

func TestFlushKeepsWhatWasNotAccepted(t *testing.T) {
	dir := t.TempDir()
	events := fillOutbox(t, dir, "run")
	path := filepath.Join(dir, "run.jsonl")

	// The backend takes three events, then goes down: the rest stays, in
	// order, for the next flush.
	srv := lineagetest.NewServer(t, func(n int, _ *http.Request) lineagetest.Fault {
		if n > 3 {
			return lineagetest.Fault{Status: 503, Body: "maintenance"}
		}
		return lineagetest.Fault{}
	})
	rep, err := lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, 3, rep.Sent)
	require.Equal(t, len(events)-3, rep.Remaining)
	require.ErrorContains(t, rep.FirstError, "HTTP 503: maintenance")
	require.Contains(t, rep.String(), "first error")
	require.Equal(t, asStrings(events[:3]), asStrings(srv.Events()))
	require.Equal(t, asStrings(events[3:]), asStrings(readOutbox(t, path)))

	// One event is refused for good: it stays, the others go.
	bad := string(events[5])
	srv2 := lineagetest.NewServer(t, func(n int, r *http.Request) lineagetest.Fault {
		return lineagetest.Fault{}
	})
	refuse := lineage.NewCompositeTransport(httpTo(t, srv2.URL))
	picky := &pickyTransport{next: refuse, refuse: bad}
	rep, err = lineage.Flush(context.Background(), dir, picky, fastFlush)
	require.NoError(t, err)
	require.Equal(t, len(events)-4, rep.Sent)
	require.Equal(t, 1, rep.Rejected)
	require.Equal(t, 1, rep.Remaining)
	require.Contains(t, rep.String(), "1 refused")
	require.Equal(t, []string{bad}, asStrings(readOutbox(t, path)))
}

// pickyTransport refuses one particular event with a 400.
type pickyTransport struct {
	next   lineage.Transport
	refuse string
}

func (p *pickyTransport) Send(ctx context.Context, b []byte) error {
	if string(b) == p.refuse {
		return &lineage.DeliveryError{Transport: "picky", Status: 400, Detail: "invalid"}
	}
	return p.next.Send(ctx, b)
}
func (p *pickyTransport) Close() error   { return nil }
func (p *pickyTransport) String() string { return "picky" }

func TestFlushSetsTornLinesAside(t *testing.T) {
	dir := t.TempDir()
	good := testEvent(t, "j")
	path := filepath.Join(dir, "run.jsonl")
	// A crash in the middle of an append leaves a torn last line.
	require.NoError(t, os.WriteFile(path, append(append(append([]byte(nil), good...), '\n', '\n'), []byte(`{"eventType":"STA`)...), 0o600))
	n, err := lineage.Pending(dir)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	srv := lineagetest.NewServer(t, nil)
	rep, err := lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Sent)
	require.Equal(t, 1, rep.Corrupt)
	require.Contains(t, rep.String(), "corrupt")
	require.NoFileExists(t, path)
	b, err := os.ReadFile(path + ".corrupt")
	require.NoError(t, err)
	require.Equal(t, `{"eventType":"STA`+"\n", string(b))
}

func TestFlushStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	events := fillOutbox(t, dir, "run")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := lineagetest.NewServer(t, nil)
	rep, err := lineage.Flush(ctx, dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Zero(t, rep.Sent)
	require.Equal(t, len(events), rep.Remaining)
	require.Equal(t, asStrings(events), asStrings(readOutbox(t, filepath.Join(dir, "run.jsonl"))))

	// Cancelled while waiting to retry.
	srv503 := lineagetest.NewServer(t, func(int, *http.Request) lineagetest.Fault { return lineagetest.Fault{Status: 503} })
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep, err = lineage.Flush(ctx, dir, httpTo(t, srv503.URL), lineage.FlushOptions{MaxAttempts: 1000, InitialBackoff: 20 * time.Millisecond, MaxBackoff: time.Second, Logf: t.Logf})
	require.NoError(t, err)
	require.Less(t, time.Since(start), 5*time.Second)
	require.Equal(t, len(events), rep.Remaining)
}

func TestOnlyOneFlushAtATime(t *testing.T) {
	dir := t.TempDir()
	fillOutbox(t, dir, "run")
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	slow := lineagetest.NewServer(t, func(n int, r *http.Request) lineagetest.Fault {
		if n == 1 {
			arrived <- struct{}{}
			<-release
		}
		return lineagetest.Fault{}
	})
	done := make(chan error, 1)
	go func() {
		_, err := lineage.Flush(context.Background(), dir, httpTo(t, slow.URL), lineage.FlushOptions{})
		done <- err
	}()
	<-arrived
	_, err := lineage.Flush(context.Background(), dir, lineage.NoneTransport{}, fastFlush)
	require.ErrorContains(t, err, "another process")
	close(release)
	require.NoError(t, <-done)
}

func TestFlushErrors(t *testing.T) {
	// A missing directory is an empty outbox.
	rep, err := lineage.Flush(context.Background(), filepath.Join(t.TempDir(), "none"), lineage.NoneTransport{}, lineage.FlushOptions{})
	require.NoError(t, err)
	require.Zero(t, rep.Files)
	n, err := lineage.Pending(filepath.Join(t.TempDir(), "none"))
	require.NoError(t, err)
	require.Zero(t, n)

	// A file where the directory should be.
	f := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(f, nil, 0o644))
	_, err = lineage.Flush(context.Background(), f, lineage.NoneTransport{}, lineage.FlushOptions{})
	require.Error(t, err)
	_, err = lineage.Pending(f)
	require.Error(t, err)

	// A file that cannot be read.
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.jsonl")
		require.NoError(t, os.WriteFile(p, []byte("{}\n"), 0o000))
		_, err = lineage.Flush(context.Background(), dir, lineage.NoneTransport{}, lineage.FlushOptions{})
		require.Error(t, err)
	}
}

func TestOutboxAppendsAcrossRuns(t *testing.T) {
	// Two emitters with the same outbox name (a retried run) never
	// overwrite each other: the second one writes a file of its own next
	// to the first.
	dir := t.TempDir()
	var paths []string
	for range 2 {
		em := lineage.NewEmitter(lineage.EmitterOptions{Transport: lineage.NewConsoleTransport(failWriter{}), OutboxDir: dir, OutboxName: "same"})
		require.NoError(t, em.EmitJSON(testEvent(t, "j")))
		rep := em.Close(context.Background())
		require.Equal(t, 1, rep.Outboxed)
		paths = append(paths, rep.OutboxPath)
	}
	require.Equal(t, filepath.Join(dir, "same.jsonl"), paths[0])
	require.NotEqual(t, paths[0], paths[1])
	require.True(t, strings.HasPrefix(filepath.Base(paths[1]), "same-"), "sorts right after the first")
	n, err := lineage.Pending(dir)
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
