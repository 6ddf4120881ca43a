package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOpenLineageConfigNeverCostsTheRun: configurations that the Python
// client accepts, or that salesdag cannot use, never stop a run.
func TestOpenLineageConfigNeverCostsTheRun(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		yml     string
		env     []string
		warn    string // in stderr, once
		outbox  bool   // the events wait in the outbox
		written string // a file the events are written to
	}{
		{name: "kafka", yml: "transport:\n  type: kafka\n  topic: t\n  config:\n    bootstrap.servers: localhost:9092\n",
			warn: `salesdag has no "kafka" transport`, outbox: true},
		{name: "jwt auth", yml: "transport:\n  type: http\n  url: http://127.0.0.1:9\n  auth:\n    type: jwt\n    apiKey: k\n    tokenEndpoint: http://127.0.0.1:9/token\n",
			warn: `auth type "jwt" is not supported`, outbox: true},
		{name: "noop", yml: "transport:\n  type: noop\n"},
		{name: "file log_file_path", yml: "transport:\n  type: file\n  log_file_path: ev.jsonl\n  append: true\n", written: "ev.jsonl"},
		{name: "file path from a variable", yml: "transport:\n  type: file\n  append: true\n", env: []string{"OPENLINEAGE__TRANSPORT__LOG_FILE_PATH=env.jsonl"}, written: "env.jsonl"},
		{name: "missing OPENLINEAGE_CONFIG", env: []string{"OPENLINEAGE_CONFIG=/nonexistent/openlineage.yml", "OPENLINEAGE__TRANSPORT__TYPE=noop"}, warn: "OPENLINEAGE_CONFIG=/nonexistent/openlineage.yml is not a readable file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.yml != "" {
				require.NoError(t, os.WriteFile(filepath.Join(dir, "openlineage.yml"), []byte(tc.yml), 0o644))
			}
			r := run(t, dir, tc.env, "run", "--input", fixture(t), "--lineage-timeout", "2s")
			require.Equal(t, 0, r.code, r.stderr)
			if tc.warn != "" {
				require.Equal(t, 1, strings.Count(r.stderr, tc.warn), r.stderr)
			}
			outbox, err := filepath.Glob(filepath.Join(dir, ".salesdag", "outbox", "*.jsonl"))
			require.NoError(t, err)
			if tc.outbox {
				require.Len(t, outbox, 1, r.stderr)
			} else {
				require.Empty(t, outbox, r.stderr)
			}
			if tc.written != "" {
				data, err := os.ReadFile(filepath.Join(dir, tc.written))
				require.NoError(t, err)
				require.Contains(t, eventTypes(t, string(data)), "COMPLETE")
			}
		})
	}
}
