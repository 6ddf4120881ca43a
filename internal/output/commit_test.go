package output

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

func TestWriteSetCommit(t *testing.T) {
	f := &frame.Frame{Columns: []frame.Column{{Name: "n", Kind: frame.KindInt, Ints: []int64{1}}}}
	results := map[string]any{"a": table{f}, "b": map[string]int{"x": 1}}
	tests := []struct {
		name      string
		commitErr error
		formats   []Format
		wantErr   string
		called    bool
		replaced  bool
	}{
		{name: "commit ok: files renamed", called: true, replaced: true},
		{name: "commit fails: no file renamed", commitErr: errors.New("database x: commit failed"), wantErr: "database x: commit failed", called: true},
		{name: "files fail: commit never called", formats: []Format{"xml"}, wantErr: "unknown format"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "a.csv"), []byte("old\n"), 0o644))
			called := false
			commit := func(context.Context) error {
				called = true
				// Every file is staged, none is in place yet.
				ents, err := os.ReadDir(dir)
				require.NoError(t, err)
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				require.Contains(t, names, "a.csv")
				require.NotContains(t, names, "b.json")
				old, _ := os.ReadFile(filepath.Join(dir, "a.csv"))
				require.Equal(t, "old\n", string(old))
				return tc.commitErr
			}
			w, err := WriteSetCommit(context.Background(), dir, results, []string{"a", "b"}, tc.formats, nil, commit)
			require.Equal(t, tc.called, called)
			got, rerr := os.ReadFile(filepath.Join(dir, "a.csv"))
			require.NoError(t, rerr)
			_, berr := os.Stat(filepath.Join(dir, "b.json"))
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				require.Nil(t, w)
				require.Equal(t, "old\n", string(got))
				require.True(t, os.IsNotExist(berr))
				ents, _ := os.ReadDir(dir)
				require.Len(t, ents, 1, "no temporary file left")
				return
			}
			require.NoError(t, err)
			require.Len(t, w, 2)
			require.Equal(t, "n\n1\n", string(got))
			require.NoError(t, berr)
		})
	}
}
