package cache

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"1048576", 1 << 20, false},
		{"500MB", 500e6, false},
		{"2GiB", 2 << 30, false},
		{"1.5k", 1536, false},
		{" 10 KiB ", 10240, false},
		{"3T", 3 << 40, false},
		{"1tb", 1e12, false},
		{"0", 0, false},
		{"", 0, true},
		{"-1MB", 0, true},
		{"5XB", 0, true},
		{"MB", 0, true},
		{"1e30TB", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"7d", 7 * 24 * time.Hour, false},
		{"2w", 14 * 24 * time.Hour, false},
		{"12h", 12 * time.Hour, false},
		{"1d12h", 36 * time.Hour, false},
		{"90m", 90 * time.Minute, false},
		{"1.5d", 36 * time.Hour, false},
		{"", 0, true},
		{"d", 0, true},
		{"5", 0, true},
		{"5y", 0, true},
		{"1..2d", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseAge(tc.in)
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[Policy]string{PolicyDefault: "default", PolicyRecompute: "recompute", PolicyDisable: "disable", 9: "Policy(9)"} {
		require.Equal(t, want, p.String())
	}
}
