package dbio

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dbio/pgtest"
)

// server is the package's throwaway PostgreSQL (nil when not installed).
var (
	server    *pgtest.Server
	serverErr error
	dbCounter atomic.Int64
)

func TestMain(m *testing.M) {
	server, serverErr = pgtest.Start()
	if serverErr != nil && !errors.Is(serverErr, pgtest.ErrNoServer) {
		fmt.Fprintln(os.Stderr, "starting the test PostgreSQL:", serverErr)
		os.Exit(1)
	}
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	os.Exit(code)
}

// needPG skips when the server binaries are absent (they are installed by
// .ci/run, so CI runs these tests).
func needPG(t testing.TB) {
	t.Helper()
	if server == nil {
		t.Skip(serverErr.Error())
	}
}

// newDB creates a fresh database and returns its URL (as postgres).
func newDB(t testing.TB) string {
	t.Helper()
	needPG(t)
	name := fmt.Sprintf("t%d", dbCounter.Add(1))
	admin := adminConn(t, "postgres")
	_, err := admin.Exec(context.Background(), "CREATE DATABASE "+name)
	require.NoError(t, err)
	return server.URL("", name)
}

// adminConn connects as postgres to database.
func adminConn(t testing.TB, database string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), server.URL("", database))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func connect(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
