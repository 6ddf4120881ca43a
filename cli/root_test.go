package cli

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFinalContext(t *testing.T) {
	final, cancel := context.WithCancel(context.Background())
	ctx, stop := context.WithCancel(context.WithValue(context.Background(), finalCtxKey{}, final))
	stop()
	require.NoError(t, finalContext(ctx).Err(), "the first signal does not cancel end-of-run work")
	cancel()
	require.Error(t, finalContext(ctx).Err(), "the second one does")
	plain, stopPlain := context.WithCancel(context.Background())
	stopPlain()
	require.NoError(t, finalContext(plain).Err())
}
