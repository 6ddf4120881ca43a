package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// copyFixture puts the sample CSV into dir under name and returns its path.
func copyFixture(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(fixture(t))
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// Typos and slips get one line with the fix and exit code 2.
func TestTypoSuggestions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		want    string
		notWant string
	}{
		{[]string{"rnu"}, `unknown command "rnu" for "salesdag"; did you mean 'salesdag run'?`, "; ;"},
		{[]string{"rnu", "--outputs", "x"}, `did you mean 'salesdag run'?`, "unknown flag"},
		{[]string{"cache", "lss"}, `unknown command "lss" for "salesdag cache"; did you mean 'salesdag cache ls'?`, ""},
		{[]string{"lineage", "shwo"}, `did you mean 'salesdag lineage show'?`, ""},
		{[]string{"lineage", "shwo", "--json"}, `did you mean 'salesdag lineage show'?`, "unknown flag"},
		{[]string{"run", "--ouputs", "trend_analysis"}, `unknown flag: --ouputs; did you mean --outputs?`, ""},
		{[]string{"graph", "--fromat", "dot"}, `did you mean --format?`, ""},
		{[]string{"run", "--cache", "/tmp/x"}, `did you mean --cache=/tmp/x?`, "unknown command"},
		{[]string{"run", "--cache", "--quiet", "cachedir"}, `did you mean --cache=cachedir?`, "unknown command"},
		{[]string{"run", "trend_analysis"}, `did you mean --outputs trend_analysis?`, "unknown command"},
		// Many input files are one input (issue 12); an output among them,
		// a glob that matches nothing or a database with anything else is
		// still a slip.
		{[]string{"run", "a.csv", "trend_analysis"}, `did you mean --outputs trend_analysis?`, "unknown command"},
		{[]string{"run", "--input", "data/2024-*.csv.gz", "--input", "extra.csv"}, `input data/2024-*.csv.gz: the pattern matches no file; check the path, and quote the pattern`, ""},
		{[]string{"run", "--input", "sqlite:a.db?table=t", "b.csv"}, `a database input (sqlite:a.db?table=t) cannot be mixed with files (b.csv)`, ""},
		{[]string{"run", "--input", "sqlite:a.db?table=t", "--input", "postgres://u:secret@h/db?table=t"}, `two database inputs`, "secret"},
		{[]string{"run", "--max-data-loss", "five%"}, `want a percentage such as 5 or 5%`, ""},
		// Inputs are not outputs: the list of known outputs leaves them out.
		{[]string{"run", "--outputs", "foo"}, `unknown output "foo" (known: raw_sales_data, cleaned_sales_data,`, "source"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			r := run(t, dir, nil, tc.args...)
			require.Equal(t, 2, r.code, r.stderr)
			requireOneLine(t, r.stderr)
			require.Contains(t, r.stderr, tc.want)
			if tc.notWant != "" {
				require.NotContains(t, r.stderr, tc.notWant)
			}
			require.Empty(t, r.stdout)
		})
	}
	// A group alone still shows its help, and succeeds.
	for _, args := range [][]string{{}, {"cache"}, {"lineage"}} {
		r := run(t, t.TempDir(), nil, args...)
		require.Equal(t, 0, r.code, r.stderr)
		require.Contains(t, r.stdout, "Available Commands")
	}
}

// `salesdag run FILE` reads FILE; a bare --cache before it still works.
func TestRunFileArgument(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFixture(t, dir, "sales.csv")
	env := []string{"SALESDAG_HOME=" + filepath.Join(dir, "home")}
	for _, args := range [][]string{
		{"run", "sales.csv", "--lineage", "none"},
		{"run", "--cache", "sales.csv", "--lineage", "none"},
		{"run", "sales.csv", "--cache", "--lineage", "none"},
	} {
		r := run(t, dir, env, args...)
		require.Equal(t, 0, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "from sales.csv")
	}
	r := run(t, dir, env, "lineage", "runs", "--json")
	require.Equal(t, 0, r.code, r.stderr)
	var runs []struct{ Inputs []string }
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 3)
	for _, rr := range runs {
		require.Equal(t, []string{filepath.Join(dir, "sales.csv")}, rr.Inputs)
	}
}

// --max-data-loss takes 5 or 5%. The sample loses 2 of 45 rows (4.44%).
func TestMaxDataLossPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value string
		code  int
	}{{"5%", 0}, {"5", 0}, {"4.5 %", 0}, {"4%", 3}, {"4", 3}} {
		r := run(t, t.TempDir(), nil, "run", "--lineage", "none", "--no-history", "--quiet", "--max-data-loss", tc.value)
		require.Equal(t, tc.code, r.code, "%s: %s", tc.value, r.stderr)
	}
}

func TestLineageShowDefaultsToLatest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet").code)
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet", "--outputs", "trend_analysis").code)
	show := run(t, dir, nil, "lineage", "show")
	require.Equal(t, 0, show.code, show.stderr)
	latest := run(t, dir, nil, "lineage", "show", "latest")
	require.Equal(t, latest.stdout, show.stdout)
	require.Contains(t, show.stdout, "output/trend_analysis.json")
	require.NotContains(t, show.stdout, "weekly_aggregation")
}

func TestCacheListing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := copyFixture(t, dir, "sales.csv")
	cacheDir := filepath.Join(dir, "cachedir")
	r := run(t, dir, nil, "run", "--cache="+cacheDir, "--input", "sales.csv", "--lineage", "none", "--quiet")
	require.Equal(t, 0, r.code, r.stderr)

	ls := run(t, dir, nil, "cache", "ls", "--cache", cacheDir, "--json")
	require.Equal(t, 0, ls.code, ls.stderr)
	var entries []struct {
		Node, Input, Type, Path string
		Bytes                   int64 `json:"bytes"`
		PayloadBytes            int64 `json:"payload_bytes"`
		Size                    *int64
	}
	require.NoError(t, json.Unmarshal([]byte(ls.stdout), &entries))
	require.Len(t, entries, 6)
	types := map[string]string{}
	for _, e := range entries {
		types[e.Node] = e.Type
		require.Equal(t, in, e.Input, "each entry names its input")
		require.Nil(t, e.Size, "no ambiguous size field")
		require.True(t, filepath.IsAbs(e.Path), e.Path)
		st, err := os.Stat(e.Path)
		require.NoError(t, err)
		require.Equal(t, st.Size(), e.Bytes, "bytes is the entry's size on disk")
		require.Positive(t, e.PayloadBytes)
		require.Less(t, e.PayloadBytes, e.Bytes)
		require.Equal(t, strings.TrimSpace(e.Type), e.Type)
	}
	require.Equal(t, "[]pipeline.TopDay", types["top_performing_days"])
	require.Equal(t, "pipeline.TrendAnalysis", types["trend_analysis"])

	text := run(t, dir, nil, "cache", "ls", "--cache", cacheDir)
	require.Equal(t, 0, text.code, text.stderr)
	lines := strings.Split(strings.TrimSpace(text.stdout), "\n")
	require.Regexp(t, `^NODE\s+INPUT\s+KEY\s+SIZE\s+AGE\s+LAST USED$`, lines[0])
	for _, l := range lines[1:7] {
		require.Regexp(t, `^\w+\s+sales\.csv\s+[0-9a-f]{12}\s`, l)
	}
	// The SIZE column is the same figure as "bytes".
	require.Contains(t, text.stdout, "6 entries")

	// --dir is the old name of --cache: still works, with a warning.
	old := run(t, dir, nil, "cache", "ls", "--dir", cacheDir)
	require.Equal(t, 0, old.code, old.stderr)
	ages := regexp.MustCompile(`\d+[smhd]\s+\d+[smhd] ago`)
	require.Equal(t, ages.ReplaceAllString(text.stdout, ""), ages.ReplaceAllString(old.stdout, ""))
	require.Contains(t, old.stderr, "--dir is deprecated, use --cache")
	help := run(t, dir, nil, "cache", "--help")
	require.NotContains(t, help.stdout, "--dir")
	require.Contains(t, help.stdout, "--cache DIR")
}

// The history is the project's: found from subfolders, as git finds .git.
func TestHistoryFoundFromSubfolders(t *testing.T) {
	t.Parallel()
	project := t.TempDir()
	sub := filepath.Join(project, "reports", "2026")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.Equal(t, 0, run(t, project, nil, "run", "--lineage", "none", "--quiet").code)

	r := run(t, sub, nil, "lineage", "runs")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "COMPLETE")
	// A run from the subfolder records into the same history.
	require.Equal(t, 0, run(t, sub, nil, "run", "--lineage", "none", "--quiet", "--outputs", "trend_analysis").code)
	_, err := os.Stat(filepath.Join(sub, ".salesdag"))
	require.True(t, os.IsNotExist(err), "no second .salesdag in the subfolder")
	r = run(t, project, nil, "lineage", "runs", "--json")
	var runs []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &runs))
	require.Len(t, runs, 2)

	// Elsewhere: say where it looked.
	other := t.TempDir()
	r = run(t, other, nil, "lineage", "runs")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "no runs recorded yet: no .salesdag directory in "+other+" or its parents (a run here records its history in .salesdag/history.db; set SALESDAG_HOME to use another place)\n", r.stdout)
	r = run(t, other, nil, "lineage", "show")
	require.Equal(t, 1, r.code)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "no .salesdag directory in "+other+" or its parents")
}

func TestLineageRunsNotesAndRowsPerNode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dup := "date,product_id,amount,customer_id\n2024-01-01,P1,10,C1\n2024-01-01,P1,10,C1\n2024-01-02,P2,5,C2\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "dup.csv"), []byte(dup), 0o644))
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet", "dup.csv").code)
	require.Equal(t, 1, run(t, dir, nil, "run", "--lineage", "none", "--quiet", "missing.csv").code)
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet").code)

	r := run(t, dir, nil, "lineage", "runs")
	require.Equal(t, 0, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 4)
	require.Regexp(t, `\sNOTE$`, lines[0])
	require.Regexp(t, `COMPLETE .*\s-$`, lines[1])
	require.Regexp(t, `FAIL .*error: input missing\.csv: file does not exist$`, lines[2])
	require.Regexp(t, `COMPLETE .*warning: data_quality_metrics: no_duplicate_rows$`, lines[3])

	show := run(t, dir, nil, "lineage", "show")
	require.Equal(t, 0, show.code, show.stderr)
	rows := map[string]string{}
	row := regexp.MustCompile(`^(\w+)\s+COMPLETE\s+\+\S+\s+\S+\s+(\S+)\s+(\S+)\s`)
	sc := bufio.NewScanner(strings.NewReader(show.stdout))
	for sc.Scan() {
		if m := row.FindStringSubmatch(sc.Text()); m != nil {
			rows[m[1]] = m[3]
		}
	}
	require.Equal(t, map[string]string{
		"raw_sales_data": "45", "cleaned_sales_data": "43", "daily_sales_summary": "15",
		"data_quality_metrics": "1", "enriched_daily_summary": "15", "weekly_aggregation": "3",
		"trend_analysis": "1", "top_performing_days": "5",
	}, rows, show.stdout)
}

// `lineage column amount` says each transformation step once.
func TestLineageColumnSaysEachStepOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet").code)
	r := run(t, dir, nil, "lineage", "column", "amount")
	require.Equal(t, 0, r.code, r.stderr)
	require.Less(t, strings.Count(r.stdout, "\n"), 80, r.stdout)
	for _, step := range []string{
		"raw_sales_data: parsed as a decimal number",
		"cleaned_sales_data: rows with a null amount or amount <= 0 are dropped",
		"daily_sales_summary: sum of amount per date, rounded to 2",
	} {
		require.Equal(t, 1, strings.Count(r.stdout, step), "%q once in:\n%s", step, r.stdout)
	}
	// Every output still appears.
	for _, f := range []string{"daily_sales_summary.csv", "enriched_daily_summary.csv", "weekly_aggregation.csv", "trend_analysis.json", "top_performing_days.json", "data_quality_metrics.json"} {
		require.Contains(t, r.stdout, f)
	}
}

// rejected_record_count is in the lineage exactly when the file has it.
func TestRejectedCountMatchesTheFile(t *testing.T) {
	t.Parallel()
	dirty := "date,product_id,amount,customer_id\n2024-01-01,P1,10,C1\n2024-01-02,P2,abc,C2\n2024-01-03,P1,7,C3\n"
	for _, skip := range []bool{false, true} {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "dirty.csv"), []byte(dirty), 0o644))
		args := []string{"run", "--lineage", "console", "--outputs", "data_quality_metrics", "--input", "dirty.csv"}
		if skip {
			args = append(args, "--on-bad-rows=skip")
		} else {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "dirty.csv"), []byte(strings.Replace(dirty, "abc", "3", 1)), 0o644))
		}
		r := run(t, dir, nil, args...)
		require.Equal(t, 0, r.code, r.stderr)
		file, err := os.ReadFile(filepath.Join(dir, "output", "data_quality_metrics.json"))
		require.NoError(t, err)
		require.Equal(t, skip, strings.Contains(string(file), "rejected_record_count"))

		var schema, colLineage []string
		sc := bufio.NewScanner(strings.NewReader(r.stdout))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var ev struct {
				EventType string
				Job       struct{ Name string }
				Outputs   []struct {
					Name   string
					Facets struct {
						Schema struct {
							Fields []struct{ Name string }
						}
						ColumnLineage struct {
							Fields map[string]any
						} `json:"columnLineage"`
					}
				}
			}
			require.NoError(t, json.Unmarshal(sc.Bytes(), &ev))
			if ev.Job.Name != "sales_data_pipeline" || ev.EventType != "COMPLETE" {
				continue
			}
			for _, o := range ev.Outputs {
				if strings.HasSuffix(o.Name, "data_quality_metrics.json") {
					for _, f := range o.Facets.Schema.Fields {
						schema = append(schema, f.Name)
					}
					for k := range o.Facets.ColumnLineage.Fields {
						colLineage = append(colLineage, k)
					}
				}
			}
		}
		require.Len(t, schema, map[bool]int{false: 5, true: 6}[skip])
		require.Equal(t, skip, contains(schema, "rejected_record_count"), "schema %v", schema)
		require.Equal(t, skip, contains(colLineage, "rejected_record_count"), "column lineage %v", colLineage)

		col := run(t, dir, nil, "lineage", "column", "amount")
		require.Equal(t, 0, col.code, col.stderr)
		require.Equal(t, skip, strings.Contains(col.stdout, "rejected_record_count"), col.stdout)
		show := run(t, dir, nil, "lineage", "show", "--json")
		require.Equal(t, 0, show.code, show.stderr)
		require.Equal(t, skip, strings.Contains(show.stdout, "rejected_record_count"))
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestCompletionValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.Equal(t, 0, run(t, dir, nil, "run", "--lineage", "none", "--quiet").code)
	runs := run(t, dir, nil, "lineage", "runs", "--json")
	var listed []struct {
		ShortID string `json:"short_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(runs.stdout), &listed))
	require.Len(t, listed, 1)

	complete := func(args ...string) []string {
		r := run(t, dir, nil, append([]string{"__complete"}, args...)...)
		require.Equal(t, 0, r.code, r.stderr)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			if !strings.HasPrefix(l, ":") {
				out = append(out, strings.SplitN(l, "\t", 2)[0])
			}
		}
		return out
	}
	require.Equal(t, []string{"trend_analysis", "top_performing_days"}, complete("run", "--outputs", "t"))
	require.Equal(t, []string{"trend_analysis,weekly_aggregation"}, complete("run", "--outputs", "trend_analysis,w"))
	require.NotContains(t, complete("run", "--outputs", ""), "source", "inputs are not outputs")
	require.Equal(t, []string{"csv", "json", "parquet"}, complete("run", "--format", ""))
	require.Equal(t, []string{"console", "http", "file", "none"}, complete("run", "--lineage", ""))
	require.Equal(t, []string{"text", "dot", "mermaid"}, complete("graph", "--format", ""))
	require.Equal(t, []string{"cleaned_sales_data"}, complete("lineage", "node", "cl"))
	require.Equal(t, []string{"weekly_aggregation"}, complete("graph", "--upstream", "we"))
	require.Equal(t, []string{"latest", listed[0].ShortID}, complete("lineage", "show", ""))
	require.Equal(t, []string{listed[0].ShortID}, complete("lineage", "column", "--run", listed[0].ShortID[:4]))
}
