package units

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBytes(t *testing.T) {
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{512, "512 B"},
		{1023, "1023 B"},
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{2048, "2.0 KiB"},
		{5 << 20, "5.0 MiB"},
		{3 << 30, "3.0 GiB"},
		{2 << 40, "2.0 TiB"},
		{-2048, "-2.0 KiB"},
		{1 << 62, "4.0 EiB"},
	}
	for _, c := range cases {
		require.Equal(t, c.want, Bytes(c.n), "Bytes(%d)", c.n)
	}
}
