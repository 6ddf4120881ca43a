package pipeline

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGenerateRandomIsDeterministic(t *testing.T) {
	var a, b, c bytes.Buffer
	require.NoError(t, GenerateRandom(&a, 5, 1000))
	require.NoError(t, GenerateRandom(&b, 5, 1000))
	require.NoError(t, GenerateRandom(&c, 6, 1000))
	require.Equal(t, a.Bytes(), b.Bytes())
	require.NotEqual(t, a.Bytes(), c.Bytes())
	require.ErrorContains(t, GenerateRandom(failWriter{}, 5, 100), "disk full")
}

// TestGenerateRandomIsValidAndVaried reads 80 generated files: each is
// valid input with at least one clean row, and together they have every
// feature the differential test is meant to exercise.
func TestGenerateRandomIsValidAndVaried(t *testing.T) {
	features := map[string]*regexp.Regexp{
		"crlf":              regexp.MustCompile(`\r\n`),
		"bom":               regexp.MustCompile(`^\x{FEFF}`),
		"quoted":            regexp.MustCompile(`(^|,)"`),
		"quoted quote":      regexp.MustCompile(`""[^,\n]`),
		"quoted break":      regexp.MustCompile(`"[^",]*\n[^",]*"`),
		"exponent":          regexp.MustCompile(`[0-9][eE][+-]?[0-9]`),
		"tie":               regexp.MustCompile(`,\d+\.\d\d5(,|\r?\n)`),
		"four decimals":     regexp.MustCompile(`\.\d{4}(,|\r?\n)`),
		"integer":           regexp.MustCompile(`,[1-9]\d*,`),
		"huge":              regexp.MustCompile(`,\d{11,}\.`),
		"tiny":              regexp.MustCompile(`,0\.000[1-9]`),
		"negative":          regexp.MustCompile(`,-[0-9]`),
		"NA token":          regexp.MustCompile(`,(NA|NULL|#N/A|nan|None|<NA>),`),
		"spaces":            regexp.MustCompile(`, [0-9.]+ +,`),
		"extra column":      regexp.MustCompile(`^(\x{FEFF})?[^\n]*region`),
		"other order":       regexp.MustCompile(`^(\x{FEFF})?(product_id|amount|customer_id)`),
		"blank line":        regexp.MustCompile(`\n\r?\n`),
		"space line":        regexp.MustCompile(`\n[ \t]+\r?\n`),
		"empty row":         regexp.MustCompile(`\n,,,+\r?\n`),
		"no final line end": regexp.MustCompile(`[^\n]$`),
	}
	seen := map[string]int{}
	sizes := map[string]int{}
	var maxDays int
	for seed := int64(1); seed <= 80; seed++ {
		r := &rng{s: uint64(seed)*0x2545F4914F6CDD1D + 0x1234567}
		drawn := drawShape(r).rows
		rows := -1
		switch n := drawn; {
		case n <= 20:
			sizes["tiny"]++
		case n > 30_000:
			sizes["large"]++
		}
		if seed%10 == 0 {
			rows = 50 // -rows fixes the count
		}
		if drawn > 400 {
			rows = 400 // keep the test fast
		}
		var b strings.Builder
		require.NoError(t, GenerateRandom(&b, seed, rows))
		data := b.String()
		for name, re := range features {
			if re.MatchString(data) {
				seen[name]++
			}
		}
		res := runNodes(t, stringSource("gen.csv", data), Options{})
		require.Empty(t, res.raw.Rejected(), "seed %d", seed)
		require.Positive(t, res.cleaned.Len(), "seed %d", seed)
		maxDays = max(maxDays, len(res.daily.Date))
		if len(res.daily.Date) == 1 {
			sizes["one day"]++
		}
		if rows == 50 {
			require.Equal(t, 50, res.raw.Len(), "seed %d: -rows fixes the count", seed)
		}
	}
	for name := range features {
		require.Positive(t, seen[name], "no generated file has: %s", name)
	}
	for _, s := range []string{"tiny", "large", "one day"} {
		require.Positive(t, sizes[s], "no generated file is %s", s)
	}
	require.Greater(t, maxDays, 365, "some file spans years")
}
