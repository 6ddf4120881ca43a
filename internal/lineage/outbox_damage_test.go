package lineage_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/lineage"
	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// A damaged outbox file (garbage written over part of it, and lines that
// are JSON but no event, which every backend would refuse for ever) is
// set aside, named, and the rest of the outbox is flushed.
func TestFlushSetsDamagedOutboxFileAside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	good := fillOutbox(t, dir, "01-good")
	damagedEvents := fillOutbox(t, dir, "02-damaged")
	last := fillOutbox(t, dir, "03-last")
	damaged := filepath.Join(dir, "02-damaged.jsonl")

	// Garbage over the third and fourth event, as a bad disk block
	// would leave it, and a few lines that are JSON but not events.
	b, err := os.ReadFile(damaged)
	require.NoError(t, err)
	lines := bytes.SplitAfter(b, []byte("\n"))
	junk := make([]byte, len(lines[2])+len(lines[3])-1)
	r := rand.New(rand.NewPCG(9, 9))
	for i := range junk {
		junk[i] = byte(r.Uint32())
		if junk[i] == '\n' {
			junk[i] = 0
		}
	}
	var out []byte
	out = append(append(out, lines[0]...), lines[1]...)
	out = append(append(out, junk...), '\n')
	for _, l := range lines[4:] {
		out = append(out, l...)
	}
	out = append(out, []byte("42\nnull\n{}\n[1,2]\n")...)
	require.NoError(t, os.WriteFile(damaged, out, 0o600))
	wantSent := len(good) + len(damagedEvents) - 2 + len(last)

	n, err := lineage.Pending(dir)
	require.NoError(t, err)
	require.Equal(t, wantSent, n, "only events count")

	srv := lineagetest.NewServer(t, nil)
	rep, err := lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Equal(t, wantSent, rep.Sent)
	require.Zero(t, rep.Remaining)
	require.Zero(t, rep.Rejected)
	require.Equal(t, 5, rep.Corrupt)
	require.Empty(t, srv.Invalid(), "nothing that is not an event was sent")
	require.Equal(t, []lineage.SetAside{{File: damaged, To: damaged + ".corrupt", Lines: 5}}, rep.SetAside)
	require.Equal(t, "outbox file "+damaged+": 5 line(s) that are not OpenLineage events moved to "+damaged+".corrupt", rep.SetAside[0].String())
	kept, err := os.ReadFile(damaged + ".corrupt")
	require.NoError(t, err)
	require.Equal(t, append(append([]byte(nil), junk...), []byte("\n42\nnull\n{}\n[1,2]\n")...), kept, "kept for the user")

	again, err := lineage.Flush(context.Background(), dir, httpTo(t, srv.URL), fastFlush)
	require.NoError(t, err)
	require.Zero(t, again.Files, "the outbox is empty; the .corrupt file is not flushed")
}
