package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestOracleCases runs every case under testdata/oracle (a sales.csv made
// to hit one arithmetic or calendar rule, see the case names) and compares
// with what the reference's node code wrote for it (testdata/oracle/
// generate.py): CSV byte for byte, JSON by value. The reference writes NaN
// where we write null and "2024-01-15 00:00:00" where we write
// "2024-01-15".
func TestOracleCases(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "oracle", "*", "sales.csv"))
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			src, err := FileSource(in)
			require.NoError(t, err)
			for _, workers := range []int{1, 4} {
				got := runNodes(t, src, Options{Workers: workers}).rendered()
				for node, text := range got {
					ext := ".json"
					if !strings.HasPrefix(text, "{") && !strings.HasPrefix(text, "[") {
						ext = ".csv"
					}
					want, err := os.ReadFile(filepath.Join(dir, "expected", node+ext))
					require.NoError(t, err)
					if ext == ".csv" {
						require.Equal(t, string(want), text, "%s workers=%d", node, workers)
						continue
					}
					w := strings.ReplaceAll(string(want), " 00:00:00", "")
					w = strings.ReplaceAll(w, "NaN", "null")
					require.JSONEq(t, w, text, "%s workers=%d", node, workers)
				}
			}
		})
	}
}
