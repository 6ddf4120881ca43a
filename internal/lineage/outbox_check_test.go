package lineage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

type recordingTransport struct{ sent [][]byte }

func (r *recordingTransport) Send(_ context.Context, b []byte) error {
	r.sent = append(r.sent, append([]byte(nil), b...))
	return nil
}
func (r *recordingTransport) Close() error   { return nil }
func (r *recordingTransport) String() string { return "recording" }

func TestIsEvent(t *testing.T) {
	ev := `{"eventType":"START","eventTime":"2026-12-05T06:00:00Z","run":{"runId":"x"},"job":{"namespace":"n","name":"j"},"producer":"p","schemaURL":"s"}`
	require.True(t, isEvent([]byte(ev)))
	require.True(t, isEvent([]byte("  "+ev+"\r")))
	for _, bad := range []string{"", "42", "null", `"x"`, "[]", "{}", `{"run":{},"job":{}}`, `{"eventTime":1,"run":{},"job":{}}`,
		`{"eventTime":"t","run":[],"job":{}}`, ev[:len(ev)-1], "\x00\x00\x00"} {
		require.False(t, isEvent([]byte(bad)), bad)
	}
}

// An outbox file that cannot be read (an I/O error) is moved aside and
// reported; the other files are flushed.
func TestFlushMovesUnreadableFileAside(t *testing.T) {
	dir := t.TempDir()
	ev := func(i int) string {
		return fmt.Sprintf(`{"eventType":"START","eventTime":"2026-12-05T06:00:0%dZ","run":{"runId":"r%d"},"job":{"namespace":"n","name":"j"}}`, i, i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte(ev(1)+"\n"), 0o600))
	bad := filepath.Join(dir, "b.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(ev(2)+"\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.jsonl"), []byte(ev(3)+"\n"), 0o600))
	old := readOutboxFile
	t.Cleanup(func() { readOutboxFile = old })
	readOutboxFile = func(name string) ([]byte, error) {
		if name == bad {
			return nil, &os.PathError{Op: "read", Path: name, Err: syscall.EIO}
		}
		return os.ReadFile(name)
	}
	n, err := Pending(dir)
	require.NoError(t, err)
	require.Equal(t, 2, n)

	tr := &recordingTransport{}
	rep, err := Flush(context.Background(), dir, tr, FlushOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, rep.Sent)
	require.Equal(t, []string{ev(1), ev(3)}, []string{string(tr.sent[0]), string(tr.sent[1])})
	require.Len(t, rep.SetAside, 1)
	a := rep.SetAside[0]
	require.Equal(t, bad, a.File)
	require.Regexp(t, "^"+regexp.QuoteMeta(bad)+`\.unreadable-\d{8}T\d{6}Z$`, a.To)
	require.Contains(t, a.String(), "outbox file "+bad+" cannot be read")
	require.Contains(t, a.String(), "input/output error")
	require.Contains(t, a.String(), "moved it to "+a.To)
	require.NoFileExists(t, bad)
	kept, err := os.ReadFile(a.To)
	require.NoError(t, err)
	require.Equal(t, ev(2)+"\n", string(kept), "kept for the user")

	again, err := Flush(context.Background(), dir, tr, FlushOptions{})
	require.NoError(t, err)
	require.Zero(t, again.Files)
	require.Empty(t, again.SetAside)
}
