package salesdag_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExampleProgram builds examples/monthly, a module of its own that
// adds monthly_summary to the DAG and ships the salesdag commands around
// it (cli.Main), and runs its run, nodes, graph and lineage commands.
func TestExampleProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program: not in -short")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "salesdag-monthly")
	// The example's go.mod names this checkout with a replace; a copy of
	// it, which -mod=mod may complete when this module has gained a
	// dependency, keeps the build from ever touching the repository.
	modDir := filepath.Join(tmp, "mod")
	require.NoError(t, os.Mkdir(modDir, 0o755))
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join("examples", "monthly", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(modDir, f), b, 0o644))
	}
	build := exec.Command("go", "build", "-mod=mod", "-modfile", filepath.Join(modDir, "go.mod"), "-o", bin, ".")
	build.Dir = filepath.Join("examples", "monthly")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the example: %s", out)
	input, err := filepath.Abs(filepath.Join("examples", "monthly", "testdata", "sales.csv"))
	require.NoError(t, err)

	work := filepath.Join(tmp, "work")
	require.NoError(t, os.Mkdir(work, 0o755))
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENLINEAGE") && !strings.HasPrefix(kv, "SALESDAG_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "CI=") {
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+tmp, "SALESDAG_HOME="+filepath.Join(tmp, "home"))
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = work, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else {
			require.NoError(t, err)
		}
		require.Equal(t, wantCode, code, "salesdag-monthly %s\nstderr: %s", strings.Join(args, " "), stderr.String())
		return stdout.String(), stderr.String()
	}

	// run: the added node is computed, written and recorded like the pipeline's.
	stdout, _ := run(0, "run", "--input", input, "--outputs", "monthly_summary", "--lineage", "console", "--quiet")
	csv, err := os.ReadFile(filepath.Join(work, "output", "monthly_summary.csv"))
	require.NoError(t, err)
	require.Equal(t, "month,days,total_amount,transaction_count,avg_daily_total\n"+
		"2024-01,3,2747.83,5,915.94\n2024-02,29,30086.97,61,1037.48\n2024-03,3,3803.55,6,1267.85\n", string(csv))
	var jobs []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev struct {
			EventType string `json:"eventType"`
			Job       struct{ Name string }
		}
		require.NoError(t, json.Unmarshal([]byte(line), &ev), line)
		jobs = append(jobs, ev.EventType+" "+ev.Job.Name)
	}
	require.Contains(t, jobs, "START sales_data_pipeline.monthly_summary")
	require.Contains(t, jobs, "COMPLETE sales_data_pipeline.monthly_summary")
	require.NotContains(t, jobs, "START sales_data_pipeline.weekly_aggregation", "only what monthly_summary needs runs")

	// nodes and graph show it.
	stdout, _ = run(0, "nodes", "--json")
	var nodes []struct {
		Name string
		Type string
		Deps []string `json:"dependencies"`
		Doc  string
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &nodes))
	added := nodes[len(nodes)-1]
	require.Equal(t, "monthly_summary", added.Name)
	require.Equal(t, "*salesdag.Table", added.Type)
	require.Equal(t, []string{"enriched_daily_summary"}, added.Deps)
	require.Equal(t, "per-month days with sales, total, transactions and mean daily total", added.Doc)
	stdout, _ = run(0, "graph", "--outputs", "monthly_summary")
	require.Regexp(t, `(?m)^\*.*└─ monthly_summary +\*salesdag\.Table$`, stdout)

	// lineage: the run history knows the node.
	stdout, _ = run(0, "lineage", "node", "monthly_summary")
	require.Contains(t, stdout, "3 rows out")
	require.Contains(t, stdout, "output/monthly_summary.csv")

	// The usual usage errors, with the added node among the suggestions.
	_, stderr := run(2, "run", "--outputs", "monthly_sumary")
	require.Contains(t, stderr, `did you mean "monthly_summary"?`)
}
