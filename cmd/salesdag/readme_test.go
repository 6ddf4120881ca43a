package main

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestREADMEExamples follows the README line by line: every shell example
// runs, in a fresh directory holding the example files that the README's
// setup block makes, with the freshly built salesdag and gensales on PATH;
// every transcript ("$ command" followed by its output) must print what
// the README quotes. The README is parsed when the test runs, so a new
// example is tested as soon as it is written.
//
// Conventions, written in the README as HTML comments on the line before
// a block:
//
//	<!-- readme-test: setup -->        makes the example files (runs first)
//	<!-- readme-test: skip REASON -->  not run (REASON says why)
//	<!-- readme-test: script [exits N] [prints TEXT] -->  the block runs as
//	                                   one bash script, exits N, prints TEXT
//
// A ```sh block's commands must each exit 0, unless the command's comment
// says "exit N". In a transcript's expected output, a line "..." stands for
// any number of lines and "..." inside a line for any text; run ids, cache
// keys, times, durations and runs of spaces are not compared.
func TestREADMEExamples(t *testing.T) {
	t.Parallel()
	blocks, err := readmeBlocks(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)

	tools := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(tools, "gensales"), "../gensales")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building gensales: %s", out)
	require.NoError(t, os.Symlink(binPath, filepath.Join(tools, "salesdag")))
	env := append(cleanEnv(), "PATH="+tools+string(os.PathListSeparator)+os.Getenv("PATH"), "TZ=UTC", "CI=")

	// The setup block makes the files the examples use, once.
	template := t.TempDir()
	var setup int
	for i, b := range blocks {
		if b.marker == "setup" {
			setup++
			for _, c := range b.commands {
				res := runShell(t, template, env, c.text)
				require.Equal(t, c.exit, res.code, "README line %d: %s\n%s", c.line, c.text, res.out)
			}
			blocks[i].done = true
		}
	}
	require.Equal(t, 1, setup, "the README has one <!-- readme-test: setup --> block")
	var ran int
	for _, b := range blocks {
		if b.done {
			continue
		}
		name := fmt.Sprintf("line_%d", b.line)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if reason, ok := strings.CutPrefix(b.marker, "skip"); ok {
				reason = strings.TrimSpace(reason)
				require.NotEmpty(t, reason, "README line %d: say why the block is skipped", b.line)
				t.Skipf("README line %d: %s", b.line, reason)
			}
			needTools(t, b)
			dir := t.TempDir()
			copyDir(t, template, dir)
			for _, c := range b.commands {
				res := runShell(t, dir, env, c.text)
				if b.transcript {
					want := normalize(c.output, dir)
					got := normalize(res.out, dir)
					require.True(t, matchLines(want, got, map[[2]int]bool{}),
						"README line %d: $ %s\n--- the README quotes:\n%s\n--- the command printed:\n%s", c.line, c.text, c.output, shorten(res.out))
					continue
				}
				require.Equal(t, c.exit, res.code, "README line %d: %s exited %d, want %d:\n%s", c.line, c.text, res.code, c.exit, shorten(res.out))
				if c.output != "" { // a script block's "prints TEXT"
					require.Contains(t, res.out, c.output, "README line %d: the script does not print what its marker says", c.line)
				}
			}
		})
		ran++
	}
	require.Positive(t, ran)
}

type readmeCommand struct {
	line   int
	text   string
	exit   int    // sh blocks: the expected exit code
	output string // transcripts: the quoted output
}

type readmeBlock struct {
	line       int // of the opening fence
	marker     string
	transcript bool
	commands   []readmeCommand
	tools      []string
	done       bool
}

var (
	markerRe = regexp.MustCompile(`^<!--\s*readme-test:\s*(.*?)\s*-->$`)
	exitRe   = regexp.MustCompile(`#.*\bexits?\s+(\d+)\b`)
)

// readmeBlocks returns the README's ```sh blocks and its transcripts
// (fenced blocks without a language whose first line starts with "$ ").
func readmeBlocks(path string) ([]readmeBlock, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	var out []readmeBlock
	prev := ""
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if !strings.HasPrefix(l, "```") {
			if strings.TrimSpace(l) != "" {
				prev = strings.TrimSpace(l)
			}
			continue
		}
		lang := strings.TrimSpace(strings.TrimPrefix(l, "```"))
		start := i
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			body = append(body, lines[i])
		}
		blk := readmeBlock{line: start + 1}
		if m := markerRe.FindStringSubmatch(prev); m != nil {
			blk.marker = m[1]
		}
		prev = ""
		switch {
		case lang == "sh" || lang == "bash" || lang == "shell":
			for j := 0; j < len(body); j++ {
				cmd, first := body[j], j
				for strings.HasSuffix(cmd, `\`) && j+1 < len(body) {
					j++
					cmd = strings.TrimSuffix(cmd, `\`) + "\n" + body[j]
				}
				if t := strings.TrimSpace(cmd); t == "" || strings.HasPrefix(t, "#") {
					continue
				}
				c := readmeCommand{line: start + 2 + first, text: cmd}
				if m := exitRe.FindStringSubmatch(cmd); m != nil {
					fmt.Sscan(m[1], &c.exit)
				}
				blk.commands = append(blk.commands, c)
			}
			if rest, ok := strings.CutPrefix(blk.marker, "script"); ok {
				// One script: shell state (variables, if ... fi) carries
				// from line to line; "script exits N" expects exit code N.
				c := readmeCommand{line: start + 2, text: strings.Join(body, "\n")}
				m := regexp.MustCompile(`^\s*(?:exits?\s+(\d+))?\s*(?:prints\s+(.+?))?\s*$`).FindStringSubmatch(rest)
				if m == nil {
					return nil, fmt.Errorf("README line %d: want <!-- readme-test: script [exits N] [prints TEXT] -->", start)
				}
				if m[1] != "" {
					fmt.Sscan(m[1], &c.exit)
				}
				c.output = m[2]
				blk.commands = []readmeCommand{c}
			}
		case (lang == "" || lang == "console") && len(body) > 0 && strings.HasPrefix(body[0], "$ "):
			blk.transcript = true
			for j, bl := range body {
				if cmd, ok := strings.CutPrefix(bl, "$ "); ok {
					blk.commands = append(blk.commands, readmeCommand{line: start + 2 + j, text: cmd})
					continue
				}
				c := &blk.commands[len(blk.commands)-1]
				c.output += bl + "\n"
			}
		default:
			continue
		}
		for _, c := range blk.commands {
			for _, tool := range []string{"dot", "jq"} {
				if regexp.MustCompile(`(^|\||\$\(|\n)\s*` + tool + `\b`).MatchString(c.text) {
					blk.tools = append(blk.tools, tool)
				}
			}
		}
		out = append(out, blk)
	}
	return out, nil
}

// needTools skips a block whose tools are missing, except in CI, where
// .ci/run installs them.
func needTools(t *testing.T, b readmeBlock) {
	t.Helper()
	for _, tool := range b.tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("README line %d needs %s, which .ci/run installs", b.line, tool)
			}
			t.Skipf("README line %d needs %s, not installed", b.line, tool)
		}
	}
}

type shellResult struct {
	code int
	out  string
}

// runShell runs one README command with bash, stdout and stderr together
// as a terminal shows them.
func runShell(t *testing.T, dir string, env []string, command string) shellResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-o", "pipefail", "-c", command)
	cmd.Dir = dir
	cmd.Env = env
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		require.True(t, ok, "running %q: %v", command, err)
		code = ee.ExitCode()
	}
	return shellResult{code, buf.String()}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == from {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	}))
}

var (
	timeRe   = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?Z?`)
	idRe     = regexp.MustCompile(`\b[0-9a-f]{8,64}(-[0-9a-f]{1,12}){0,4}\b`)
	durRe    = regexp.MustCompile(`\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h|d)\b`)
	spacesRe = regexp.MustCompile(`\s+`)
	letterRe = regexp.MustCompile(`[a-f]`)
	digitRe  = regexp.MustCompile(`[0-9]`)
)

// normalize makes output comparable: the example's directory is dropped
// from paths, and run ids, keys, times, durations and alignment are
// replaced by placeholders.
func normalize(s, dir string) []string {
	s = strings.ReplaceAll(s, dir+string(filepath.Separator), "")
	s = strings.ReplaceAll(s, dir, ".")
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = timeRe.ReplaceAllString(l, "<time>")
		l = idRe.ReplaceAllStringFunc(l, func(m string) string {
			if letterRe.MatchString(m) && digitRe.MatchString(m) {
				return "<id>"
			}
			return m
		})
		l = durRe.ReplaceAllString(l, "<dur>")
		l = strings.TrimSpace(spacesRe.ReplaceAllString(l, " "))
		out = append(out, l)
	}
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

// matchLines matches got against want, where a want line "..." stands for
// any number of lines and "..." inside a line for any text.
func matchLines(want, got []string, seen map[[2]int]bool) bool {
	if len(want) == 0 {
		return len(got) == 0
	}
	key := [2]int{len(want), len(got)}
	if seen[key] {
		return false
	}
	seen[key] = true
	if want[0] == "..." {
		for k := 0; k <= len(got); k++ {
			if matchLines(want[1:], got[k:], seen) {
				return true
			}
		}
		return false
	}
	if len(got) == 0 || !matchLine(want[0], got[0]) {
		return false
	}
	return matchLines(want[1:], got[1:], seen)
}

func matchLine(want, got string) bool {
	if !strings.Contains(want, "...") {
		return want == got
	}
	parts := strings.Split(want, "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// shorten cuts long lines (JSON events) in a failure message.
func shorten(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if r := []rune(l); len(r) > 300 {
			lines[i] = string(r[:300]) + " [...]"
		}
	}
	return strings.Join(lines, "\n")
}

// TestREADMEHarness checks the parts of TestREADMEExamples that decide
// what runs and what matches, so that it can fail.
func TestREADMEHarness(t *testing.T) {
	md := "intro\n\n<!-- readme-test: setup -->\n```sh\nmake-files   # setup\n```\n\n" +
		"```sh\n# a comment\nsalesdag run \\\n  --quiet\nsalesdag run --max-data-loss 0   # exit 3\n```\n\n" +
		"<!-- readme-test: skip needs a server -->\n```sh\ncurl x\n```\n\n" +
		"```\n$ salesdag lineage runs\nRUN  START\n...\n$ salesdag nodes --json | jq .\n```\n\n" +
		"```\nnot a transcript\n```\n\n```yaml\nkey: value\n```\n"
	p := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(p, []byte(md), 0o644))
	blocks, err := readmeBlocks(p)
	require.NoError(t, err)
	require.Len(t, blocks, 4)
	require.Equal(t, "setup", blocks[0].marker)
	require.Equal(t, []readmeCommand{{line: 10, text: "salesdag run \n  --quiet"}, {line: 12, text: "salesdag run --max-data-loss 0   # exit 3", exit: 3}}, blocks[1].commands)
	require.Equal(t, "skip needs a server", blocks[2].marker)
	require.True(t, blocks[3].transcript)
	require.Equal(t, []string{"jq"}, blocks[3].tools)
	require.Equal(t, "RUN  START\n...\n", blocks[3].commands[0].output)

	dir := "/tmp/x"
	norm := func(s string) []string { return normalize(s, dir) }
	for _, tc := range []struct {
		want, got string
		ok        bool
	}{
		{"a  b\n", "a b", true},
		{"run 01a21d66-27a5-7e77-8660-ab811799f1bd took 6.89ms at 2026-11-27 14:26:03.814", "run 01a244fc-eb79-7c74-b52a-166af1c2849b took 174µs at 2026-12-05 06:55:55.770", true},
		{"output/x.csv", "/tmp/x/output/x.csv", true},
		{"a\n...\nz", "a\nb\nc\nz", true},
		{"a\n...\nz", "a\nz", true},
		{"a\n...", "a", true},
		{"x ... z", "x anything z", true},
		{"kept 43 rows", "kept 44 rows", false},
		{"a\nb", "a", false},
		{"a", "a\nb", false},
		{"a\n...\nz", "a\nb", false},
		{"1.3 KiB", "1.4 KiB", false},
		{"", "unexpected", false},
	} {
		require.Equal(t, tc.ok, matchLines(norm(tc.want), norm(tc.got), map[[2]int]bool{}), "want %q got %q", tc.want, tc.got)
	}
}

// A script block runs as one bash script, so shell state carries from line
// to line; its marker names the exit code.
func TestREADMEScriptBlocks(t *testing.T) {
	md := "<!-- readme-test: script exits 1 prints the end -->\n```sh\nx=$(echo 1)\nif [ \"$x\" = 1 ]; then\n  jq -n 1 >/dev/null 2>&1 || true\n  exit 1\nfi\n```\n"
	p := filepath.Join(t.TempDir(), "README.md")
	require.NoError(t, os.WriteFile(p, []byte(md), 0o644))
	blocks, err := readmeBlocks(p)
	require.NoError(t, err)
	require.Len(t, blocks, 1)
	require.Len(t, blocks[0].commands, 1)
	c := blocks[0].commands[0]
	require.Equal(t, 1, c.exit)
	require.Equal(t, "the end", c.output)
	require.Equal(t, []string{"jq"}, blocks[0].tools)
	require.Equal(t, 1, runShell(t, t.TempDir(), os.Environ(), c.text).code, "the variable set on line 1 is seen on line 2")

	require.NoError(t, os.WriteFile(p, []byte("<!-- readme-test: script twice -->\n```sh\ntrue\n```\n"), 0o644))
	_, err = readmeBlocks(p)
	require.ErrorContains(t, err, "script [exits N] [prints TEXT]")
}
