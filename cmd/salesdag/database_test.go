package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/dbio/pgtest"
)

// startPG starts a throwaway PostgreSQL for one test (removed at its end).
func startPG(t *testing.T) *pgtest.Server {
	t.Helper()
	srv, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrNoServer) {
		t.Skip(err.Error())
	}
	require.NoError(t, err)
	t.Cleanup(srv.Stop)
	return srv
}

func pgExec(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	_, err = conn.Exec(context.Background(), sql)
	require.NoError(t, err)
}

// pgCSV reads a table back as CSV with a header.
func pgCSV(t *testing.T, url, table string) [][]string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var buf bytes.Buffer
	_, err = conn.PgConn().CopyTo(context.Background(), &buf, "COPY "+table+" TO STDOUT WITH (FORMAT csv, HEADER true)")
	require.NoError(t, err)
	recs, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	return recs
}

func fileCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return recs
}

// sameCell compares a CSV field of a file with the database's text of it:
// numbers by value (pandas writes 12.0, PostgreSQL 12), booleans as
// True/t, nulls as empty fields.
func sameCell(file, db string) bool {
	if file == db {
		return true
	}
	switch file {
	case "True":
		return db == "t" || db == "1"
	case "False":
		return db == "f" || db == "0"
	}
	a, err1 := strconv.ParseFloat(file, 64)
	b, err2 := strconv.ParseFloat(db, 64)
	return err1 == nil && err2 == nil && a == b
}

func requireSameTable(t *testing.T, file, db [][]string, what string) {
	t.Helper()
	require.Equal(t, file[0], db[0], "%s: columns", what)
	require.Len(t, db, len(file), "%s: rows", what)
	for i := 1; i < len(file); i++ {
		for j := range file[i] {
			require.True(t, sameCell(file[i][j], db[i][j]), "%s row %d column %s: file %q, database %q", what, i, file[0][j], file[i][j], db[i][j])
		}
	}
}

// jsonAsTable turns a JSON output (an object, or a list of objects) into
// CSV-like rows in the order of cols.
func jsonAsTable(t *testing.T, path string, cols []string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	require.NoError(t, d.Decode(&v))
	var objs []map[string]any
	switch x := v.(type) {
	case map[string]any:
		objs = []map[string]any{x}
	case []any:
		for _, e := range x {
			objs = append(objs, e.(map[string]any))
		}
	}
	out := [][]string{cols}
	for _, o := range objs {
		var rec []string
		for _, c := range cols {
			switch x := o[c].(type) {
			case nil:
				rec = append(rec, "")
			case bool:
				rec = append(rec, map[bool]string{true: "True", false: "False"}[x])
			default:
				rec = append(rec, fmt.Sprint(x))
			}
		}
		out = append(out, rec)
	}
	return out
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	return st.Sys().(*syscall.Stat_t).Ino
}

func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = fmt.Sprintf("%d:%x", inode(t, filepath.Join(dir, e.Name())), b)
	}
	return out
}

func rootEventTypes(t *testing.T, stdout string) []string {
	t.Helper()
	var types []string
	sc := bufio.NewScanner(strings.NewReader(stdout))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var ev struct {
			EventType string `json:"eventType"`
			Job       struct{ Name string }
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Job.Name == "sales_data_pipeline" {
			types = append(types, ev.EventType)
		}
	}
	return types
}

// TestDatabaseEndToEnd runs the binary against a real PostgreSQL and a
// SQLite file: results into tables (read back and compared with the CSV
// and JSON files), sales from a table (the same files as from the CSV),
// a connection killed in the middle of the transaction (nothing committed,
// no file renamed, exit 1, FAIL event) and a wrong password (never shown).
func TestDatabaseEndToEnd(t *testing.T) {
	srv := startPG(t)
	pgExec(t, srv.URL("", "postgres"), "CREATE DATABASE e2e")
	pgExec(t, srv.URL("", "postgres"), "CREATE ROLE analyst LOGIN PASSWORD 'the-Right-pw'")
	db := srv.URL("", "e2e")
	dir := t.TempDir()
	fix := fixture(t)

	// Results into PostgreSQL, in a schema of their own.
	r := run(t, dir, nil, "run", "--input", fix, "--output-dir", "a", "--output-db", db, "--db-schema", "reports", "--lineage", "console", "--format", "csv")
	require.Equal(t, 0, r.code, r.stderr)
	for _, name := range []string{"daily_sales_summary", "enriched_daily_summary", "weekly_aggregation"} {
		requireSameTable(t, fileCSV(t, filepath.Join(dir, "a", name+".csv")), pgCSV(t, db, "reports."+name), name)
	}
	for _, name := range []string{"trend_analysis", "top_performing_days", "data_quality_metrics"} {
		got := pgCSV(t, db, "reports."+name)
		requireSameTable(t, jsonAsTable(t, filepath.Join(dir, "a", name+".json"), got[0]), got, name)
	}
	// The events name the tables as the naming conventions say.
	require.Contains(t, r.stdout, fmt.Sprintf(`"namespace":"postgres://127.0.0.1:%d","name":"e2e.reports.weekly_aggregation"`, srv.Port))
	require.Contains(t, r.stdout, `"type":"double precision"`)

	// Sales from a table: the same files as from the CSV file.
	pgExec(t, db, "CREATE SCHEMA shop; CREATE TABLE shop.sales (date text, product_id text, amount text, customer_id text)")
	conn, err := pgx.Connect(context.Background(), db)
	require.NoError(t, err)
	f, err := os.Open(fix)
	require.NoError(t, err)
	_, err = conn.PgConn().CopyFrom(context.Background(), f, "COPY shop.sales FROM STDIN WITH (FORMAT csv, HEADER true)")
	f.Close()
	conn.Close(context.Background())
	require.NoError(t, err)
	r = run(t, dir, nil, "run", "--input", strings.Replace(db, "?", "?table=shop.sales&", 1), "--output-dir", "b", "--lineage", "console", "--cache="+filepath.Join(dir, "cache"))
	require.Equal(t, 0, r.code, r.stderr)
	for _, e := range mustReadDir(t, filepath.Join(dir, "a")) {
		want, _ := os.ReadFile(filepath.Join(dir, "a", e))
		got, err := os.ReadFile(filepath.Join(dir, "b", e))
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), e)
	}
	require.Contains(t, r.stdout, `"name":"e2e.shop.sales"`)
	require.Contains(t, r.stdout, `"type":"text"`)

	// A connection that dies in the middle of the transaction (a trigger
	// on the third table terminates its own backend): exit 1, one line,
	// FAIL, the tables written before it in the same transaction and the
	// files of the first run as they were.
	pgExec(t, db, `CREATE FUNCTION reports.die() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW; END $$;
CREATE TRIGGER die BEFORE INSERT ON reports.weekly_aggregation FOR EACH ROW EXECUTE FUNCTION reports.die()`)
	before := dirState(t, filepath.Join(dir, "a"))
	daily := pgCSV(t, db, "reports.daily_sales_summary")
	short := filepath.Join(dir, "short.csv")
	lines := strings.SplitAfter(string(mustRead(t, fix)), "\n")
	require.NoError(t, os.WriteFile(short, []byte(strings.Join(lines[:len(lines)/2], "")), 0o644))
	r = run(t, dir, nil, "run", "--input", short, "--output-dir", "a", "--output-db", db, "--db-schema", "reports", "--lineage", "console")
	require.Equal(t, 1, r.code, r.stderr)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "database postgres://postgres@127.0.0.1:")
	require.Contains(t, r.stderr, "weekly_aggregation")
	require.Equal(t, []string{"START", "FAIL"}, rootEventTypes(t, r.stdout))
	require.Equal(t, before, dirState(t, filepath.Join(dir, "a")), "no file renamed, no temporary file left")
	require.Equal(t, daily, pgCSV(t, db, "reports.daily_sales_summary"), "the table written earlier in the transaction was rolled back")
	pgExec(t, db, "DROP TRIGGER die ON reports.weekly_aggregation")

	// A wrong password: one line naming the database, never the password.
	bad := strings.Replace(db, "postgres@", "analyst:Wrong-pw-123@", 1)
	r = run(t, dir, nil, "run", "--input", fix, "--output-dir", "c", "--output-db", bad, "--lineage", "console")
	require.Equal(t, 1, r.code, r.stderr)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "password authentication failed")
	require.Contains(t, r.stderr, "analyst:xxxxx@")
	require.NotContains(t, r.stderr+r.stdout, "Wrong-pw-123")
	require.Equal(t, []string{"START", "FAIL"}, rootEventTypes(t, r.stdout))
	_, err = os.Stat(filepath.Join(dir, "c"))
	require.True(t, os.IsNotExist(err), "no output directory for a run that could not connect")
	// The right one, from PGPASSWORD, with append: rows carry the run id.
	pgExec(t, db, "GRANT CREATE ON DATABASE e2e TO analyst")
	good := strings.Replace(db, "postgres@", "analyst@", 1)
	for range 2 {
		r = run(t, dir, []string{"PGPASSWORD=the-Right-pw"}, "run", "--input", fix, "--output-dir", "c", "--output-db", good, "--db-schema", "hist", "--db-mode", "append", "--outputs", "trend_analysis", "--summary-json", "-", "--lineage", "console")
		require.Equal(t, 0, r.code, r.stderr)
		require.NotContains(t, r.stderr+r.stdout, "the-Right-pw")
	}
	runs := pgCSV(t, db, "(SELECT count(DISTINCT run_id), count(*) FROM hist.trend_analysis)")
	require.Equal(t, []string{"2", "2"}, runs[1])

	// SQLite: the same, in a file.
	r = run(t, dir, nil, "run", "--input", fix, "--output-dir", "s", "--output-db", "sqlite:results.db", "--outputs", "cleaned_sales_data,daily_sales_summary", "--lineage", "console")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, fmt.Sprintf(`"namespace":"file","name":"%s/daily_sales_summary"`, filepath.Join(dir, "results.db")))
	r = run(t, dir, nil, "run", "--input", "sqlite:results.db?table=cleaned_sales_data", "--output-dir", "s2", "--outputs", "daily_sales_summary", "--lineage", "none")
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, string(mustRead(t, filepath.Join(dir, "s", "daily_sales_summary.csv"))), string(mustRead(t, filepath.Join(dir, "s2", "daily_sales_summary.csv"))))
	r = run(t, dir, nil, "run", "--input", "sqlite:results.db?table=nosuch", "--output-dir", "s3", "--lineage", "console")
	require.Equal(t, 1, r.code, r.stderr)
	requireOneLine(t, r.stderr)
	require.Contains(t, r.stderr, "no such table: nosuch")
	require.Equal(t, []string{"START", "FAIL"}, rootEventTypes(t, r.stdout))
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func mustReadDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}
