package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/salesdag/salesdag/internal/lineage/lineagetest"
)

// Local state never blocks work: these run the binary on a damaged
// history or outbox, as a user would meet them.

// stateRun is a quiet run on the fixture in dir, recording its history
// in dir/.salesdag.
func stateRun(t *testing.T, dir string, env ...string) result {
	t.Helper()
	return run(t, dir, env, "run", "--input", fixture(t), "--output-dir", "out", "--lineage", "none", "--quiet")
}

type listedRun struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// stateRuns is `lineage runs --json`, which must succeed.
func stateRuns(t *testing.T, dir string) ([]listedRun, string) {
	t.Helper()
	r := run(t, dir, nil, "lineage", "runs", "--json", "--limit", "0")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []listedRun
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs), r.stdout)
	return runs, r.stderr
}

func historyFile(dir string) string { return filepath.Join(dir, ".salesdag", "history.db") }

// requireMovedAside checks the one warning and the file it names.
func requireMovedAside(t *testing.T, dir, stderr string, damaged []byte) {
	t.Helper()
	require.NotContains(t, stderr, "goroutine")
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	require.Len(t, lines, 1, stderr)
	m := regexp.MustCompile(`^salesdag: warning: run history \.salesdag/history\.db was damaged \(.+\); moved it to (\.salesdag/history\.db\.corrupt-\d{8}T\d{6}Z) and started a new one$`).FindStringSubmatch(lines[0])
	require.NotNil(t, m, stderr)
	kept, err := os.ReadFile(filepath.Join(dir, m[1]))
	require.NoError(t, err, "the damaged history is kept")
	require.Equal(t, damaged, kept)
}

// garbageOver writes random bytes over page pg of path.
func garbageOver(t *testing.T, path string, pg int) {
	t.Helper()
	junk := bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0x42}, os.Getpagesize()/7+1)[:os.Getpagesize()]
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt(junk, int64(pg*os.Getpagesize()))
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// withDB opens the history with bbolt itself, as the store lays it out.
func withDB(t *testing.T, path string, readOnly bool, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: readOnly})
	require.NoError(t, err)
	if readOnly {
		require.NoError(t, db.View(fn))
	} else {
		require.NoError(t, db.Update(fn))
	}
	require.NoError(t, db.Close())
}

func TestDamagedHistoryNeverBlocksARun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated to 20000 bytes", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			require.NoError(t, err)
			require.Greater(t, fi.Size(), int64(20000))
			require.NoError(t, os.Truncate(path, 20000))
		}},
		{"garbage over the page of the run summaries", func(t *testing.T, path string) {
			var pg int
			withDB(t, path, true, func(tx *bolt.Tx) error {
				pg = int(tx.Bucket([]byte("runs")).RootPage())
				return nil
			})
			require.NotZero(t, pg)
			garbageOver(t, path, pg)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for range 2 {
				r := stateRun(t, dir)
				require.Equal(t, 0, r.code, r.stderr)
			}
			tc.damage(t, historyFile(dir))
			damaged, err := os.ReadFile(historyFile(dir))
			require.NoError(t, err)

			r := stateRun(t, dir)
			require.Equal(t, 0, r.code, r.stderr)
			requireMovedAside(t, dir, r.stderr, damaged)
			runs, stderr := stateRuns(t, dir)
			require.Empty(t, stderr)
			require.Len(t, runs, 1, "the run was recorded in a new history")
			require.Equal(t, "COMPLETE", runs[0].Status)

			r = stateRun(t, dir)
			require.Equal(t, 0, r.code, r.stderr)
			require.Empty(t, r.stderr)
			runs, stderr = stateRuns(t, dir)
			require.Empty(t, stderr)
			require.Len(t, runs, 2)
		})
	}
	t.Run("a query meets it first", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		r := stateRun(t, dir)
		require.Equal(t, 0, r.code, r.stderr)
		require.NoError(t, os.Truncate(historyFile(dir), 20000))
		damaged, err := os.ReadFile(historyFile(dir))
		require.NoError(t, err)
		runs, stderr := stateRuns(t, dir)
		require.Empty(t, runs)
		requireMovedAside(t, dir, stderr, damaged)
		r = stateRun(t, dir)
		require.Equal(t, 0, r.code, r.stderr)
		require.Empty(t, r.stderr)
		runs, stderr = stateRuns(t, dir)
		require.Empty(t, stderr)
		require.Len(t, runs, 1)
	})
}

// One unreadable run summary and one unreadable event, written through
// the store's own bucket layout: every query skips them with a warning,
// `lineage repair` drops (or re-derives) them, and history goes on.
func TestUnreadableHistoryRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for range 3 {
		r := stateRun(t, dir)
		require.Equal(t, 0, r.code, r.stderr)
	}
	runs, _ := stateRuns(t, dir)
	require.Len(t, runs, 3)
	badSummary, badEvent := uuid.MustParse(runs[1].ID), uuid.MustParse(runs[0].ID)
	withDB(t, historyFile(dir), false, func(tx *bolt.Tx) error {
		if err := tx.Bucket([]byte("runs")).Put(badSummary[:], []byte(`{"id":"`+badSummary.String()+`","start":tru`)); err != nil {
			return err
		}
		key := make([]byte, 24)
		copy(key, badEvent[:])
		binary.BigEndian.PutUint64(key[16:], 1)
		require.NotNil(t, tx.Bucket([]byte("events")).Get(key))
		return tx.Bucket([]byte("events")).Put(key, []byte{1, 0xff, 0xfe, 0x00, 0x17})
	})
	hist := ".salesdag/history.db"

	got, stderr := stateRuns(t, dir)
	require.Len(t, got, 2, "the unreadable run is skipped")
	require.Equal(t, "salesdag: warning: run history "+hist+": skipped run "+badSummary.String()+": ", stderr[:len("salesdag: warning: run history "+hist+": skipped run "+badSummary.String()+": ")])
	require.Contains(t, stderr, "`salesdag lineage repair` drops what cannot be read")

	r := run(t, dir, nil, "lineage", "show", badEvent.String())
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "salesdag: warning: run history "+hist+": skipped event 1 of run "+badEvent.String())
	require.Contains(t, r.stdout, "COMPLETE")
	r = run(t, dir, nil, "lineage", "show", badSummary.String())
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "summary of run "+badSummary.String()+", re-derived it from the run's events")
	for _, args := range [][]string{{"lineage", "column", "amount"}, {"lineage", "node", "cleaned_sales_data"}} {
		r := run(t, dir, nil, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		require.NotContains(t, r.stderr, "panic")
	}

	r = run(t, dir, nil, "lineage", "repair", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var rep struct {
		Runs    int      `json:"runs"`
		Rebuilt []string `json:"rebuilt"`
		Dropped []struct {
			Kind string `json:"kind"`
			Run  string `json:"run"`
			Seq  *int   `json:"seq"`
		} `json:"dropped"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
	require.Equal(t, 3, rep.Runs)
	require.Equal(t, []string{badSummary.String()}, rep.Rebuilt)
	require.Len(t, rep.Dropped, 1)
	require.Equal(t, "event", rep.Dropped[0].Kind)
	require.Equal(t, badEvent.String(), rep.Dropped[0].Run)
	require.Equal(t, 1, *rep.Dropped[0].Seq)

	got, stderr = stateRuns(t, dir)
	require.Empty(t, stderr, "nothing left to skip")
	require.Len(t, got, 3)
	r = run(t, dir, nil, "lineage", "repair")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "3 run(s) and")
	require.Contains(t, r.stdout, "0 record(s) dropped, 0 summary(ies) re-derived")

	r = stateRun(t, dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr)
	got, _ = stateRuns(t, dir)
	require.Len(t, got, 4)
}

// A damaged outbox file: `lineage flush` warns, naming it, sets aside
// what is not an event (kept, not deleted) and delivers the rest.
func TestDamagedOutboxFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dead := "OPENLINEAGE_URL=http://127.0.0.1:9"
	for range 2 {
		r := run(t, dir, []string{dead}, "run", "--input", fixture(t), "--output-dir", "out", "--lineage-timeout", "0", "--quiet")
		require.Equal(t, 0, r.code, r.stderr)
	}
	files, err := filepath.Glob(filepath.Join(dir, ".salesdag", "outbox", "*.jsonl"))
	require.NoError(t, err)
	require.Len(t, files, 2)
	damaged := files[0]
	b, err := os.ReadFile(damaged)
	require.NoError(t, err)
	good := bytes.Count(b, []byte("\n"))
	// Garbage over the first line, and JSON that is no event.
	nl := bytes.IndexByte(b, '\n')
	copy(b[:nl], bytes.Repeat([]byte{0xde, 0xad, 0x00}, nl))
	b = append(b, "42\n{\"eventType\":\"COMPL\n"...)
	require.NoError(t, os.WriteFile(damaged, b, 0o600))

	srv := lineagetest.NewServer(t, nil)
	r := run(t, dir, []string{"OPENLINEAGE_URL=" + srv.URL}, "lineage", "flush")
	require.Equal(t, 0, r.code, r.stderr)
	rel := filepath.Join(".salesdag", "outbox", filepath.Base(damaged))
	require.Contains(t, r.stderr, "salesdag: warning: outbox file "+rel+": 3 line(s) that are not OpenLineage events moved to "+rel+".corrupt")
	require.Empty(t, srv.Invalid())
	require.Len(t, srv.Events(), 2*good-1, "every event but the overwritten one")
	kept, err := os.ReadFile(damaged + ".corrupt")
	require.NoError(t, err)
	require.Equal(t, append(append([]byte(nil), b[:nl+1]...), "42\n{\"eventType\":\"COMPL\n"...), kept)

	r = run(t, dir, []string{"OPENLINEAGE_URL=" + srv.URL}, "lineage", "flush")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "nothing to send")
	r = run(t, dir, []string{"OPENLINEAGE_URL=" + srv.URL}, "run", "--input", fixture(t), "--output-dir", "out", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	require.Empty(t, r.stderr)
	require.Len(t, srv.Events(), 2*good-1+good, "the next run delivers normally")
}
