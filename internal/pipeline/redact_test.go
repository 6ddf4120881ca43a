package pipeline

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRedactCustomer(t *testing.T) {
	lay := &layout{nfields: 5, col: [4]int{1, 0, 3, 2}}
	cases := []struct{ raw, want string }{
		{`P1,2024-01-01,C042,1.5,x`, `P1,2024-01-01,<redacted>,1.5,x`},
		{`P1,2024-01-01,"C0,42",bad,x`, `P1,2024-01-01,<redacted>,bad,x`},
		{`P1,2024-01-01,"C""42""",1,`, `P1,2024-01-01,<redacted>,1,`},
		{`P1,2024-01-01,C042`, `<redacted> (3 fields)`},
		{`P1,2024-01-01,"C042,1,x`, `<redacted> (unterminated quote)`},
		{``, `<redacted> (1 fields)`},
		{`P1,2024-01-01,,1.5,x`, `P1,2024-01-01,,1.5,x`},
	}
	for _, c := range cases {
		require.Equal(t, c.want, redactCustomer([]byte(c.raw), lay), c.raw)
	}
	require.Equal(t, "0", itoa(0))
	require.Equal(t, "12345", itoa(12345))
}
