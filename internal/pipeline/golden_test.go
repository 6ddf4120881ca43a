package pipeline

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGoldenFixture runs every node on the reference's sample input and
// compares with the reference's outputs: CSV byte for byte, JSON by value
// (the reference writes dates as "2024-01-15 00:00:00", we write
// "2024-01-15").
func TestGoldenFixture(t *testing.T) {
	for _, workers := range []int{1, 3} {
		r := runNodes(t, SampleSource(), Options{Workers: workers})
		got := r.rendered()
		for _, node := range []string{NodeDaily, NodeEnriched, NodeWeekly} {
			want, err := os.ReadFile(filepath.Join("testdata", "fixture", "expected", node+".csv"))
			require.NoError(t, err)
			require.Equal(t, string(want), got[node], node)
		}
		for _, node := range []string{NodeQuality, NodeTrend, NodeTop} {
			want, err := os.ReadFile(filepath.Join("testdata", "fixture", "expected", node+".json"))
			require.NoError(t, err)
			require.JSONEq(t, strings.ReplaceAll(string(want), " 00:00:00", ""), got[node], node)
			// Same keys in the same order.
			require.Equal(t, jsonKeys(t, string(want)), jsonKeys(t, got[node]), node)
		}
	}
}

// jsonKeys lists the object keys of a JSON document in order.
func jsonKeys(t *testing.T, doc string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(doc))
	var keys []string
	depth := 0
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{':
				depth++
				expectKey = true
				continue
			case '}':
				depth--
			}
		case string:
			if expectKey {
				keys = append(keys, v)
				expectKey = false
				continue
			}
		}
		expectKey = dec.More() && depth > 0
	}
	return keys
}
