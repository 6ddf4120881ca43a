package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// splitFixture writes the sample's data rows as n files in dir/parts
// (each with the header; the second gzip-compressed), and returns their
// paths in order.
func splitFixture(t *testing.T, dir string, n int) []string {
	t.Helper()
	b, err := os.ReadFile(fixture(t))
	require.NoError(t, err)
	lines := strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n")
	header, rows := lines[0], lines[1:]
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "parts"), 0o755))
	var paths []string
	for i := range n {
		part := header + strings.Join(rows[i*len(rows)/n:(i+1)*len(rows)/n], "")
		if !strings.HasSuffix(part, "\n") {
			part += "\n"
		}
		p := filepath.Join(dir, "parts", fmt.Sprintf("2024-%02d.csv", i+1))
		data := []byte(part)
		if i == 1 {
			p += ".gz"
			var z bytes.Buffer
			zw := gzip.NewWriter(&z)
			_, err := zw.Write(data)
			require.NoError(t, err)
			require.NoError(t, zw.Close())
			data = z.Bytes()
		}
		require.NoError(t, os.WriteFile(p, data, 0o644))
		paths = append(paths, p)
	}
	return paths
}

type eventInput struct {
	Namespace   string
	Name        string
	InputFacets struct {
		InputStatistics *struct {
			RowCount  int64 `json:"rowCount"`
			Size      int64 `json:"size"`
			FileCount int64 `json:"fileCount"`
		} `json:"inputStatistics"`
		DataQualityMetrics *struct {
			RowCount      int64                     `json:"rowCount"`
			FileCount     int64                     `json:"fileCount"`
			ColumnMetrics map[string]map[string]any `json:"columnMetrics"`
		} `json:"dataQualityMetrics"`
	} `json:"inputFacets"`
}

// rootEnd returns the inputs of the root run's terminal event (every
// event checked against the OpenLineage schemas).
func rootEnd(t *testing.T, jsonl string) []eventInput {
	t.Helper()
	require.Equal(t, []string{"START", "COMPLETE"}, eventTypes(t, jsonl))
	sc := bufio.NewScanner(strings.NewReader(jsonl))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	var last []eventInput
	for sc.Scan() {
		var ev struct {
			EventType string
			Job       struct{ Name string }
			Inputs    []eventInput
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
		if ev.Job.Name == "sales_data_pipeline" && ev.EventType == "COMPLETE" {
			last = ev.Inputs
		}
	}
	return last
}

// Many files, as globs and repeated --input, give the outputs of the one
// file that holds their rows; lineage has one measured dataset per file.
func TestRunManyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	one := run(t, dir, env, "run", fixture(t), "--output-dir", "one", "--format", "csv,json,parquet", "--lineage", "none", "--quiet")
	require.Equal(t, 0, one.code, one.stderr)
	paths := splitFixture(t, dir, 3)
	many := run(t, dir, env, "run", "--input", "parts/2024-0[12]*", "--input", "parts/2024-03.csv", "parts/2024-01.csv",
		"--output-dir", "many", "--format", "csv,json,parquet", "--lineage", "file", "--lineage-file", "events.jsonl", "--summary-json", "summary.json")
	require.Equal(t, 0, many.code, many.stderr)
	require.Contains(t, many.stderr, "read 45 rows from 3 files, kept 43")
	entries, err := os.ReadDir(filepath.Join(dir, "one"))
	require.NoError(t, err)
	require.Len(t, entries, 12)
	for _, e := range entries {
		want, err := os.ReadFile(filepath.Join(dir, "one", e.Name()))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, "many", e.Name()))
		require.NoError(t, err)
		require.Equal(t, want, got, e.Name())
	}

	events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	require.NoError(t, err)
	inputs := rootEnd(t, string(events))
	require.Len(t, inputs, 3)
	var rows int64
	for i, in := range inputs {
		require.Equal(t, "file", in.Namespace)
		require.Equal(t, paths[i], in.Name, "one dataset per file, in order")
		st, err := os.Stat(paths[i])
		require.NoError(t, err)
		require.NotNil(t, in.InputFacets.InputStatistics, in.Name)
		require.Equal(t, st.Size(), in.InputFacets.InputStatistics.Size)
		require.EqualValues(t, 1, in.InputFacets.InputStatistics.FileCount)
		require.Equal(t, in.InputFacets.InputStatistics.RowCount, in.InputFacets.DataQualityMetrics.RowCount)
		require.Contains(t, in.InputFacets.DataQualityMetrics.ColumnMetrics, "amount")
		rows += in.InputFacets.InputStatistics.RowCount
	}
	require.EqualValues(t, 45, rows)

	var sum struct {
		Inputs []struct {
			Path, Name       string
			Bytes, Rows      int64
			RowsKept         int64 `json:"rowsKept"`
			SHA256           string
			RowsRejectedJSON int64 `json:"rowsRejected"`
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &sum))
	require.Len(t, sum.Inputs, 3)
	var kept int64
	rows = 0
	for i, in := range sum.Inputs {
		require.Equal(t, paths[i], in.Path)
		require.Len(t, in.SHA256, 64)
		rows, kept = rows+in.Rows, kept+in.RowsKept
	}
	require.EqualValues(t, 45, rows)
	require.EqualValues(t, 43, kept)

	// The history shows the files of the run.
	js := run(t, dir, env, "lineage", "runs", "--json")
	require.Equal(t, 0, js.code, js.stderr)
	var listed []struct{ Inputs []string }
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &listed))
	require.Len(t, listed, 2)
	require.Equal(t, paths, listed[0].Inputs)
	runs := run(t, dir, env, "lineage", "runs")
	require.Equal(t, 0, runs.code, runs.stderr)
	require.Contains(t, runs.stdout, " 3 files in parts/ ")
	show := run(t, dir, env, "lineage", "show")
	require.Equal(t, 0, show.code, show.stderr)
	require.Regexp(t, `(?m)^input\s+parts/2024-01\.csv, parts/2024-02\.csv\.gz, parts/2024-03\.csv$`, show.stdout)
}

// Skipped rows name their file (a column of its own) and their line in it;
// a bad header or a failing row names the file too.
func TestRunManyFilesBadRows(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	splitFixture(t, dir, 2)
	bad := filepath.Join(dir, "parts", "2024-03.csv")
	require.NoError(t, os.WriteFile(bad, []byte("date,product_id,amount,customer_id\n2024-03-01,P1,10.00,C1\n2024-03-02,P2,ten,C2\n"), 0o644))
	r := run(t, dir, env, "run", "--input", "parts/*", "--on-bad-rows", "skip", "--lineage", "none", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	got, err := os.ReadFile(filepath.Join(dir, "output", "rejected_rows.csv"))
	require.NoError(t, err)
	require.Equal(t, "file,line,reason,raw\nparts/2024-03.csv,3,invalid amount (want a decimal number such as 12.50),\"2024-03-02,P2,ten,<redacted>\"\n", string(got))

	r = run(t, dir, env, "run", "--input", "parts/*", "--lineage", "none")
	require.Equal(t, 1, r.code, r.stderr)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "salesdag: node raw_sales_data: parts/2024-03.csv:3: invalid amount")

	require.NoError(t, os.WriteFile(bad, []byte("date,product,amount,customer_id\n2024-03-01,P1,10.00,C1\n"), 0o644))
	r = run(t, dir, env, "run", "--input", "parts/*", "--lineage", "none")
	require.Equal(t, 1, r.code, r.stderr)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "salesdag: node raw_sales_data: parts/2024-03.csv:1: missing required column product_id")
}

// The cache keys the files by all their contents: a rerun hits, changing
// any one file misses.
func TestRunManyFilesCache(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	paths := splitFixture(t, dir, 3)
	args := []string{"run", "--input", "parts/*", "--cache", "--lineage", "none"}
	r := run(t, dir, env, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "cache miss")
	r = run(t, dir, env, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stderr, "cache: 6 hit")
	// The same files in another order are another input.
	r = run(t, dir, env, "run", "--input", paths[2], "--input", "parts/*", "--cache", "--lineage", "none")
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, "6 hit")
	b, err := os.ReadFile(paths[2])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(paths[2], append(b, "2024-02-20,P009,10.00,C099\n"...), 0o644))
	r = run(t, dir, env, args...)
	require.Equal(t, 0, r.code, r.stderr)
	require.NotContains(t, r.stderr, "6 hit")
	require.Contains(t, r.stderr, "read 46 rows from 3 files")
}

// More than 100 files are one lineage dataset: their directory, with
// the number of files.
func TestRunManyFilesOneDataset(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	days := filepath.Join(dir, "days")
	require.NoError(t, os.MkdirAll(days, 0o755))
	for i := range 101 {
		data := fmt.Sprintf("date,product_id,amount,customer_id\n2024-%02d-%02d,P%d,%d.50,C%d\n", 1+i/28, 1+i%28, i%7, 10+i, i)
		require.NoError(t, os.WriteFile(filepath.Join(days, fmt.Sprintf("day-%03d.csv", i)), []byte(data), 0o644))
	}
	r := run(t, dir, env, "run", "--input", "days/day-*.csv", "--lineage", "file", "--lineage-file", "events.jsonl", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)
	events, err := os.ReadFile(filepath.Join(dir, "events.jsonl"))
	require.NoError(t, err)
	inputs := rootEnd(t, string(events))
	require.Len(t, inputs, 1)
	require.Equal(t, days, inputs[0].Name)
	require.EqualValues(t, 101, inputs[0].InputFacets.InputStatistics.FileCount)
	require.EqualValues(t, 101, inputs[0].InputFacets.InputStatistics.RowCount)
	require.EqualValues(t, 101, inputs[0].InputFacets.DataQualityMetrics.FileCount)
}
