package lineage

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	initial, maxWait := 100*time.Millisecond, time.Second
	for attempt, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 4: 800 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 50 {
			d := backoff(attempt, initial, maxWait)
			require.GreaterOrEqual(t, d, want/2, "attempt %d", attempt)
			require.LessOrEqual(t, d, want, "attempt %d", attempt)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	require.Equal(t, 3*time.Second, parseRetryAfter(" 3 ", now))
	require.Zero(t, parseRetryAfter("", now))
	require.Zero(t, parseRetryAfter("-1", now))
	require.Zero(t, parseRetryAfter("later", now))
	require.Equal(t, 30*time.Second, parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	require.Zero(t, parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now), "a date in the past means now")
}

func TestFirstLine(t *testing.T) {
	require.Equal(t, "a", firstLine([]byte("\n \n a \nb"), "500"))
	require.Equal(t, "500 Internal Server Error", firstLine(nil, "500 Internal Server Error"))
	require.Equal(t, "503", firstLine([]byte{0xff, 0xfe, '\n'}, "503"), "binary bodies are not quoted")
}

// TestEnvTree: the expected tree is what the Python client 1.53 builds
// from the same variables (its _load_config_from_env_variables).
func TestEnvTree(t *testing.T) {
	var warnings []string
	tree := envTree([]string{
		"OPENLINEAGE__TRANSPORT__TYPE=http",
		"OPENLINEAGE__TRANSPORT__AUTH__API_KEY=0123",
		"OPENLINEAGE__TRANSPORT__AUTH__TYPE=api_key",
		"OPENLINEAGE__TRANSPORT__TIMEOUT=2.5",
		"OPENLINEAGE__=ignored",
		"OPENLINEAGE_URL=legacy, not nested",
		"NOEQUALS",
		"OPENLINEAGE__TRANSPORT__HEADERS=[not json",
		"OPENLINEAGE__X=scalar",
		"OPENLINEAGE__X__Y=the parent replaces the child",
		`OPENLINEAGE__T2={"type":"http","url":"u"}`,
		"OPENLINEAGE__T2__URL=v",
	}, func(string) string { return "" }, func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) })
	var got map[string]any
	require.NoError(t, tree.Decode(&got))
	require.Equal(t, map[string]any{
		"x": "scalar",
		"transport": map[string]any{"type": "http", "timeout": 2.5, "headers": "[not json",
			"auth": map[string]any{"type": "api_key", "api_key": "0123"}},
		"t2": map[string]any{"type": "http", "url": "u"},
	}, got)
	require.Equal(t, []string{"OPENLINEAGE__TRANSPORT__HEADERS is not valid JSON; taken as a plain string"}, warnings)
}

func TestSplitLines(t *testing.T) {
	require.Equal(t, [][]byte{[]byte("a"), []byte("b")}, splitLines([]byte("a\n\n  \nb")))
	require.Nil(t, splitLines(nil))
}

func TestLeavesOfEmptyComposite(t *testing.T) {
	l := leaves(NewCompositeTransport())
	require.Len(t, l, 1)
	require.Equal(t, "none", l[0].String())
}
