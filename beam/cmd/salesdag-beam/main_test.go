package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
	"github.com/salesdag/salesdag/cli"
)

func runMain(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	d, err := salesdag.New()
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	t.Setenv("SALESDAG_HOME", filepath.Join(dir, ".salesdag"))
	code := cli.Main(d, args, strings.NewReader(""), &stdout, &stderr, cli.Options{Version: "test", BeamEngine: newEngine})
	return code, stdout.String(), stderr.String()
}

// TestRunEngineBeam: the command line with the Beam engine writes what the
// native engine writes; runner mistakes are one line and exit 1 (a run
// that failed: FAIL event), or 2 for a value no runner has.
func TestRunEngineBeam(t *testing.T) {
	dir := t.TempDir()
	code, _, stderr := runMain(t, dir, "run", "--quiet", "--output-dir", filepath.Join(dir, "native"))
	require.Equal(t, 0, code, stderr)
	code, _, stderr = runMain(t, dir, "run", "--quiet", "--engine", "beam", "--output-dir", filepath.Join(dir, "beam"))
	require.Equal(t, 0, code, stderr)
	ents, err := os.ReadDir(filepath.Join(dir, "native"))
	require.NoError(t, err)
	require.Len(t, ents, 6)
	for _, e := range ents {
		want, err := os.ReadFile(filepath.Join(dir, "native", e.Name()))
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, "beam", e.Name()))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), e.Name())
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--engine", "beam", "--runner", "flink"}, 1, "salesdag: node raw_sales_data: --runner flink needs --job-endpoint HOST:PORT"},
		{[]string{"--engine", "beam", "--runner", "dataflow", "--project", "p"}, 1, "needs --region, --staging-location"},
		{[]string{"--engine", "beam", "--runner", "storm"}, 2, `unknown --runner "storm"`},
		{[]string{"--engine", "spark"}, 2, `unknown --engine "spark"`},
		{[]string{"--runner", "flink"}, 2, "--runner is for --engine beam"},
	} {
		code, _, stderr := runMain(t, dir, append([]string{"run", "--quiet", "--output-dir", filepath.Join(dir, "x")}, tt.args...)...)
		require.Equal(t, tt.code, code, "%v: %s", tt.args, stderr)
		require.Contains(t, stderr, tt.want, tt.args)
		require.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
	}
}

// TestREADMEBeamExamples runs the README's Beam examples on Prism: the
// blocks marked "skip run by TestREADMEBeamExamples" (the main module's
// README test has no salesdag-beam), with salesdag, salesdag-beam and
// gensales built from this checkout on PATH.
func TestREADMEBeamExamples(t *testing.T) {
	blocks := beamBlocks(t, filepath.Join("..", "..", "..", "README.md"))
	require.NotEmpty(t, blocks, "the README has Beam examples marked for this test")
	tools := t.TempDir()
	for name, pkg := range map[string]string{
		"salesdag-beam": ".",
		"salesdag":      "github.com/salesdag/salesdag/cmd/salesdag",
		"gensales":      "github.com/salesdag/salesdag/cmd/gensales",
	} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(tools, name), pkg).CombinedOutput()
		require.NoError(t, err, "building %s: %s", name, out)
	}
	for _, b := range blocks {
		dir := t.TempDir()
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.script)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"), "SALESDAG_HOME="+filepath.Join(dir, ".salesdag"), "CI=true")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "README line %d:\n%s\n%s", b.line, b.script, out)
	}
}

type block struct {
	line   int
	script string
}

func beamBlocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []block
	sc := bufio.NewScanner(f)
	n, marked, in := 0, false, false
	var cur block
	for sc.Scan() {
		n++
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "<!-- readme-test: skip run by TestREADMEBeamExamples"):
			marked = true
		case marked && strings.HasPrefix(l, "```"):
			marked, in, cur = false, true, block{line: n + 1}
		case in && strings.HasPrefix(l, "```"):
			in = false
			out = append(out, cur)
		case in:
			cur.script += l + "\n"
		}
	}
	require.NoError(t, sc.Err())
	return out
}
