//go:build unix

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag"
)

// TestEngineBeamHandsOver: `run --engine beam` without an engine in the
// process runs salesdag-beam from PATH with the same arguments and
// streams, and exits with its code; without one, one line says where it
// looked and how to build it. --runner without --engine beam is a usage
// error, before anything runs.
func TestEngineBeamHandsOver(t *testing.T) {
	d, err := salesdag.New()
	require.NoError(t, err)
	dir := t.TempDir()
	script := "#!/bin/sh\necho \"args: $*\"\ncat\necho 'on stderr' >&2\nexit 7\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, BeamProgram), []byte(script), 0o755))

	main := func(path string, args ...string) (int, string, string) {
		t.Setenv("PATH", path)
		var stdout, stderr bytes.Buffer
		code := Main(d, args, strings.NewReader("from stdin\n"), &stdout, &stderr, Options{})
		return code, stdout.String(), stderr.String()
	}
	code, stdout, stderr := main(dir+string(os.PathListSeparator)+os.Getenv("PATH"), "run", "--engine", "beam", "--runner", "flink", "in.csv")
	require.Equal(t, 7, code, stderr)
	require.Equal(t, "args: run --engine beam --runner flink in.csv\nfrom stdin\n", stdout)
	require.Equal(t, "on stderr\n", stderr)

	code, stdout, stderr = main(t.TempDir(), "run", "--engine", "beam")
	require.Equal(t, 1, code)
	require.Empty(t, stdout)
	require.Contains(t, stderr, "--engine beam needs the salesdag-beam program, found neither in ")
	require.Contains(t, stderr, "nor on PATH; build it with 'make beam'")
	require.Equal(t, 1, strings.Count(stderr, "\n"))

	code, _, stderr = main(dir, "run", "--runner", "flink")
	require.Equal(t, 2, code)
	require.Equal(t, "salesdag: --runner is for --engine beam\n", stderr)
}
