package pipeline

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAmountParsersAgree checks both amount parsers against strconv on
// every string of up to five characters over digits, '.', 'e', '-' and
// ' ', and on random longer ones: the fast SWAR path, when it accepts,
// and the general path must give exactly strconv's nearest float64, and
// must reject what the grammar rejects.
func TestAmountParsersAgree(t *testing.T) {
	const alphabet = "0123456789.e- "
	check := func(s string) {
		b := []byte(s)
		want, err := strconv.ParseFloat(trimSpace(s), 64)
		valid := err == nil && refAmount.MatchString(s)
		if f, ok := amountFast(word(b), len(b)); ok {
			require.True(t, valid, "fast path accepted %q", s)
			require.Equal(t, want, f, "fast %q", s)
		}
		f, kind := parseAmount(b)
		if !valid {
			require.NotEqual(t, amountOK, kind, "accepted %q", s)
			return
		}
		require.Equal(t, amountOK, kind, "rejected %q", s)
		require.Equal(t, want, f, "general %q", s)
	}
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		if prefix != "" {
			check(prefix)
		}
		if n == 0 {
			return
		}
		for i := range len(alphabet) {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 5)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		n := 6 + rng.IntN(20)
		b := make([]byte, n)
		for i := range b {
			b[i] = "0123456789"[rng.IntN(10)]
		}
		if rng.IntN(2) == 0 {
			b[rng.IntN(n)] = '.'
		}
		if rng.IntN(4) == 0 {
			b = append(b, []byte("e"+strconv.Itoa(rng.IntN(60)-30))...)
		}
		check(string(b))
	}
}

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// TestAmountFastCents: the cents the fast path gives are exactly what
// toCents makes of the parsed float64 (the input profile relies on it).
func TestAmountFastCents(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	texts := []string{"0", "0.0", "0.00", ".5", "5.", "99999999", "9999999.", "999999.9", "99999.99", "0.01", "1.005", "1234.5678"}
	for range 200_000 {
		digits := 1 + rng.IntN(8)
		b := make([]byte, 0, 9)
		for range digits {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		if dot := rng.IntN(digits + 2); dot <= digits && digits < 8 {
			b = slices.Insert(b, dot, '.')
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		v, cents, ok := amountFastCents(word([]byte(s)), len(s))
		if !ok {
			continue
		}
		want, wantOK := toCents(v)
		if cents < 0 {
			continue // more than two decimals: the caller asks toCents
		}
		require.True(t, wantOK, "%q", s)
		require.Equal(t, want, cents, "%q", s)
	}
}
