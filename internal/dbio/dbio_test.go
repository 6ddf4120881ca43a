package dbio

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/salesdag/salesdag/internal/frame"
)

// sampleFrame has every kind, with nulls (and a NaN, which is a null).
func sampleFrame() *frame.Frame {
	return &frame.Frame{Columns: []frame.Column{
		{Name: "date", Kind: frame.KindDate, Dates: []frame.Date{frame.DateOf(2024, 1, 1), frame.DateOf(2024, 2, 29), 0}, Valid: []bool{true, true, false}},
		{Name: "n", Kind: frame.KindInt, Ints: []int64{1, -2, math.MaxInt64}},
		{Name: "x", Kind: frame.KindFloat, Floats: []float64{1.5, math.NaN(), -0.25}},
		{Name: "s", Kind: frame.KindString, Strings: []string{"a,b", `q"uote`, ""}, Valid: []bool{true, true, false}},
		{Name: "b", Kind: frame.KindBool, Bools: []bool{true, false, true}},
	}}
}

// wantRows is sampleFrame as text rows (NULL for nulls).
var wantRows = [][]string{
	{"2024-01-01", "1", "1.5", "a,b", "true"},
	{"2024-02-29", "-2", "NULL", `q"uote`, "false"},
	{"NULL", "9223372036854775807", "-0.25", "NULL", "true"},
}

func pgRowsOf(t *testing.T, conn *pgx.Conn, q string) [][]string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		out = append(out, texts(vals))
	}
	require.NoError(t, rows.Err())
	return out
}

func texts(vals []any) []string {
	rec := make([]string, len(vals))
	for i, v := range vals {
		switch x := v.(type) {
		case nil:
			rec[i] = "NULL"
		case time.Time:
			rec[i] = x.Format(time.DateOnly)
		case []byte:
			rec[i] = string(x)
		case int64:
			rec[i] = fmt.Sprint(x)
		default:
			rec[i] = fmt.Sprint(x)
		}
	}
	return rec
}

func TestParseAndRedact(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	tests := []struct {
		raw, display, err string
		input             bool
	}{
		{raw: "postgres://u:s3cret@db.example:6543/sales?sslmode=disable&table=raw", input: true, display: "postgres://u:xxxxx@db.example:6543/sales?sslmode=disable"},
		{raw: "postgresql://u@db.example/sales?query=SELECT+1", input: true, display: "postgresql://u@db.example/sales"},
		{raw: "sqlite:out/results.db", display: "sqlite:out/results.db"},
		{raw: "sqlite:///tmp/a.db?table=sales", input: true, display: "sqlite:/tmp/a.db"},
		{raw: "postgres://u:s3cret@h/db", input: true, err: "say what to read with ?table=NAME or ?query="},
		{raw: "postgres://u:s3cret@h/db?table=a&query=b", input: true, err: "not both"},
		{raw: "postgres://u:s3cret@h/db?table=a", err: "are for --input"},
		{raw: "sqlite:a.db?cache=shared&table=t", input: true, err: `unknown parameter "cache"`},
		{raw: "mysql://u:s3cret@h/db", err: "unknown scheme"},
		{raw: "postgres://u:s3cret@h:notaport/db", err: "cannot be parsed"},
		{raw: "postgres://u:s3cret@h/db?sslmode=bogus", err: "sslmode"},
		{raw: "postgres://u@h/db?password=s3cret&table=t", input: true, display: "postgres://u@h/db?password=xxxxx"},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			tg, err := parse(tc.raw, tc.input)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.NotContains(t, err.Error(), "s3cret")
				require.NotContains(t, err.Error(), "\n")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.display, tg.display)
		})
	}
	require.Equal(t, "postgres://u:xxxxx@h/db", Redact("postgres://u:pw@h/db"))
	require.Equal(t, "out.csv", Redact("out.csv"))
	require.Equal(t, "postgres://h/db?password=xxxxx&table=t", Redact("postgres://h/db?table=t&password=pw"))
	require.True(t, IsURL("SQLITE:x.db"))
	require.False(t, IsURL("sales.csv"))
}

func TestParseSecretFromPGPass(t *testing.T) {
	dir := t.TempDir()
	pass := filepath.Join(dir, "pgpass")
	require.NoError(t, os.WriteFile(pass, []byte("db.example:5432:sales:u:fr0mfile\n"), 0o600))
	t.Setenv("PGPASSFILE", pass)
	t.Setenv("PGPASSWORD", "")
	tg, err := parse("postgres://u@db.example:5432/sales?table=t", true)
	require.NoError(t, err)
	require.Equal(t, "fr0mfile", tg.pg.Password)
	require.Equal(t, "database "+tg.display+": password xxxxx rejected", tg.errorf("password %s rejected", "fr0mfile").Error())
}

func TestTables(t *testing.T) {
	type rec struct {
		D   frame.Date      `json:"d"`
		F   frame.Float     `json:"f"`
		N   frame.NullFloat `json:"n"`
		C   *int64          `json:"c,omitempty"`
		Tag []string        `json:"tags"`
	}
	one := int64(7)
	res := map[string]any{
		"obj":  rec{D: frame.DateOf(2024, 3, 1), F: 2.5, N: frame.SomeFloat(1), Tag: []string{"x"}},
		"list": []rec{{F: 1}, {C: &one}},
		"tab":  sampleFrame(),
		"bad":  map[string]int{"a": 1},
	}
	tabs, err := Tables(res, []string{"obj", "list", "tab", "obj"})
	require.NoError(t, err)
	require.Len(t, tabs, 3)
	obj := tabs[0].Frame
	require.Equal(t, []frame.Field{{Name: "d", Type: "date"}, {Name: "f", Type: "float64"}, {Name: "n", Type: "float64"}, {Name: "c", Type: "int64"}, {Name: "tags", Type: "string"}}, obj.Schema())
	require.Equal(t, 1, obj.Rows())
	require.True(t, obj.Columns[3].IsNull(0), "an omitted nil pointer is a null, the column stays")
	require.Equal(t, `["x"]`, obj.Columns[4].Strings[0])
	list := tabs[1].Frame
	require.Equal(t, 2, list.Rows())
	require.Equal(t, int64(7), list.Columns[3].Ints[1])
	require.True(t, list.Columns[2].IsNull(0))
	_, err = Tables(res, []string{"bad"})
	require.ErrorContains(t, err, "bad cannot be written to the database")
	_, err = Tables(res, []string{"missing"})
	require.ErrorContains(t, err, "no result for missing")
}

func TestPostgresWriteModes(t *testing.T) {
	u := newDB(t)
	ctx := context.Background()
	for _, schema := range []string{"", "reports"} {
		t.Run("schema="+schema, func(t *testing.T) {
			qual := "public"
			if schema != "" {
				qual = schema
			}
			conn := connect(t, u)
			write := func(mode Mode, run string) []Written {
				out, err := OpenOutput(ctx, u, OutputOptions{Schema: schema, Mode: mode, RunID: run, RunTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
				require.NoError(t, err)
				defer out.Close()
				w, err := out.Write(ctx, []Table{{Name: "t_" + string(mode), Frame: sampleFrame()}, {Name: "other_" + string(mode), Frame: sampleFrame()}})
				require.NoError(t, err)
				return w
			}
			// replace twice: the rows once.
			write(Replace, "r1")
			w := write(Replace, "r2")
			require.Equal(t, int64(3), w[0].Rows)
			require.Equal(t, Location{Kind: Postgres, Host: "127.0.0.1", Port: uint16(server.Port), Database: strings.TrimPrefix(mustPath(u), "/"), Schema: qual, Table: "t_replace"}, w[0].Location)
			require.Equal(t, []frame.Field{{Name: "date", Type: "date"}, {Name: "n", Type: "bigint"}, {Name: "x", Type: "double precision"}, {Name: "s", Type: "text"}, {Name: "b", Type: "boolean"}}, w[0].Schema)
			got := pgRowsOf(t, conn, "SELECT * FROM "+qual+".t_replace ORDER BY n DESC")
			require.Equal(t, [][]string{wantRows[2], wantRows[0], wantRows[1]}, got)
			var types string
			require.NoError(t, conn.QueryRow(ctx, `SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0`, qual+".t_replace").Scan(&types))
			require.Equal(t, "date,bigint,double precision,text,boolean", types)

			// append twice: both runs, told apart by run_id.
			write(Append, "a1")
			w = write(Append, "a2")
			require.Equal(t, "run_id", w[0].Schema[0].Name)
			got = pgRowsOf(t, conn, "SELECT run_id, count(*), min(run_time) FROM "+qual+".t_append GROUP BY run_id ORDER BY run_id")
			require.Equal(t, [][]string{{"a1", "3", "2026-01-02"}, {"a2", "3", "2026-01-02"}}, got)

			// A table whose columns changed: append refuses, replace redoes it.
			_, err := conn.Exec(ctx, "DROP TABLE "+qual+".t_replace; CREATE TABLE "+qual+".t_replace (n bigint)")
			require.NoError(t, err)
			out, err := OpenOutput(ctx, u, OutputOptions{Schema: schema, Mode: Append, RunID: "x"})
			require.NoError(t, err)
			defer out.Close()
			_, err = out.Write(ctx, []Table{{Name: "t_replace", Frame: sampleFrame()}})
			require.ErrorContains(t, err, "has columns (n bigint), this run writes (run_id text, run_time timestamp with time zone, date date")
			write(Replace, "r3")
			require.Len(t, pgRowsOf(t, conn, "SELECT * FROM "+qual+".t_replace"), 3)
		})
	}
}

func mustPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Path
}

// A connection killed in the middle of the transaction: nothing of the
// run is committed, the earlier tables are as they were.
func TestPostgresKilledMidTransaction(t *testing.T) {
	u := newDB(t)
	ctx := context.Background()
	conn := connect(t, u)
	_, err := conn.Exec(ctx, "CREATE TABLE first (n bigint); INSERT INTO first VALUES (42)")
	require.NoError(t, err)
	out, err := OpenOutput(ctx, u, OutputOptions{})
	require.NoError(t, err)
	defer out.Close()
	pid := out.pg.conn.PgConn().PID()
	out.afterTable = func(table string) {
		if table == "first" {
			var ok bool
			require.NoError(t, conn.QueryRow(ctx, "SELECT pg_terminate_backend($1)", pid).Scan(&ok))
			require.True(t, ok)
		}
	}
	one := &frame.Frame{Columns: []frame.Column{{Name: "n", Kind: frame.KindInt, Ints: []int64{1, 2}}}}
	_, err = out.Write(ctx, []Table{{Name: "first", Frame: one}, {Name: "second", Frame: one}})
	require.Error(t, err)
	require.Contains(t, err.Error(), "database "+strings.Split(u, "?")[0])
	require.NotContains(t, err.Error(), "\n")
	require.Equal(t, [][]string{{"42"}}, pgRowsOf(t, conn, "SELECT n FROM first"))
	require.Equal(t, [][]string{{"0"}}, pgRowsOf(t, conn, "SELECT count(*) FROM pg_class WHERE relname = 'second'"))
}

func TestPostgresCancelledWrite(t *testing.T) {
	u := newDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	out, err := OpenOutput(ctx, u, OutputOptions{})
	require.NoError(t, err)
	defer out.Close()
	out.afterTable = func(string) { cancel() }
	_, err = out.Write(ctx, []Table{{Name: "a", Frame: sampleFrame()}, {Name: "b", Frame: sampleFrame()}})
	require.ErrorIs(t, err, context.Canceled)
	conn := connect(t, u)
	require.Equal(t, [][]string{{"0"}}, pgRowsOf(t, conn, "SELECT count(*) FROM pg_class WHERE relname IN ('a', 'b')"))
}

const salesCSV = "date,product_id,amount,customer_id\n2024-01-01,P1,10.50,C1\n2024-01-02,\"P,2\",,C2\n2024-01-03,P3,7.25,\n"

func createSales(t *testing.T, u string) {
	t.Helper()
	conn := connect(t, u)
	_, err := conn.Exec(context.Background(), `CREATE SCHEMA shop; CREATE TABLE shop.sales (date date, product_id text, amount numeric(10,2), customer_id varchar(20));
INSERT INTO shop.sales VALUES ('2024-01-01','P1',10.50,'C1'), ('2024-01-02','P,2',NULL,'C2'), ('2024-01-03','P3',7.25,NULL)`)
	require.NoError(t, err)
}

func readAll(t *testing.T, in *Input) string {
	t.Helper()
	rc, err := in.Open()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

func TestPostgresInput(t *testing.T) {
	u := newDB(t)
	createSales(t, u)
	ctx := context.Background()
	base := strings.Split(u, "?")[0]

	in, err := OpenInput(ctx, u+"&table=shop.sales")
	require.NoError(t, err)
	require.Equal(t, salesCSV, readAll(t, in))
	require.Equal(t, []frame.Field{{Name: "date", Type: "date"}, {Name: "product_id", Type: "text"}, {Name: "amount", Type: "numeric(10,2)"}, {Name: "customer_id", Type: "character varying(20)"}}, in.Schema())
	require.Equal(t, "shop", in.Location().Schema)
	require.Equal(t, "sales", in.Location().Table)
	require.Equal(t, base+"?sslmode=disable table shop.sales", in.Name())

	q := url.QueryEscape("SELECT * FROM shop.sales ORDER BY date DESC;")
	in, err = OpenInput(ctx, u+"&query="+q)
	require.NoError(t, err)
	require.Equal(t, "date,product_id,amount,customer_id\n2024-01-03,P3,7.25,\n2024-01-02,\"P,2\",,C2\n2024-01-01,P1,10.50,C1\n", readAll(t, in))
	require.Empty(t, in.Location().Table)
	require.Equal(t, "SELECT * FROM shop.sales ORDER BY date DESC", in.Location().Query)

	// Every read after a complete one sees the same rows (the copy), even
	// if the table changed; a read that stopped early is not kept.
	in, err = OpenInput(ctx, u+"&table=shop.sales")
	require.NoError(t, err)
	rc, err := in.Open()
	require.NoError(t, err)
	_, err = rc.Read(make([]byte, 5))
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.Equal(t, salesCSV, readAll(t, in))
	_, err = connect(t, u).Exec(ctx, "INSERT INTO shop.sales VALUES ('2024-01-04','P4',1,'C4')")
	require.NoError(t, err)
	require.Equal(t, salesCSV, readAll(t, in))
	require.NoError(t, in.Close())
	_, err = in.Open()
	require.ErrorContains(t, err, "closed")
	in, err = OpenInput(ctx, u+"&table=shop.sales")
	require.NoError(t, err)
	defer in.Close()
	require.Equal(t, salesCSV+"2024-01-04,P4,1.00,C4\n", readAll(t, in))
}

func TestPostgresInputErrors(t *testing.T) {
	u := newDB(t)
	createSales(t, u)
	ctx := context.Background()
	admin := connect(t, u)
	_, err := admin.Exec(ctx, "CREATE ROLE analyst LOGIN PASSWORD 'right-pw'")
	if err != nil && !strings.Contains(err.Error(), "already exists") {
		require.NoError(t, err)
	}
	db := strings.TrimPrefix(mustPath(u), "/")
	closed := fmt.Sprintf("postgres://analyst:s3cret-pw@127.0.0.1:%d/%s?sslmode=disable&connect_timeout=5&table=sales", closedPort(t), db)
	tests := []struct {
		name, url, want string
	}{
		{"wrong password", fmt.Sprintf("postgres://analyst:s3cret-pw@127.0.0.1:%d/%s?sslmode=disable&table=shop.sales", server.Port, db), "password authentication failed"},
		{"unreachable", closed, "cannot connect"},
		{"missing table", u + "&table=nosuch", "table nosuch does not exist"},
		{"bad query", u + "&query=" + url.QueryEscape("SELECT nope FROM shop.sales"), "cannot read query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := OpenInput(ctx, tc.url)
			require.ErrorContains(t, err, tc.want)
			require.Contains(t, err.Error(), "database postgres://")
			require.NotContains(t, err.Error(), "s3cret")
			require.NotContains(t, err.Error(), "\n")
		})
	}
	// The right password (from PGPASSWORD) works, and never shows.
	t.Setenv("PGPASSWORD", "right-pw")
	_, err = admin.Exec(ctx, "GRANT USAGE ON SCHEMA shop TO analyst; GRANT SELECT ON shop.sales TO analyst")
	require.NoError(t, err)
	in, err := OpenInput(ctx, fmt.Sprintf("postgres://analyst@127.0.0.1:%d/%s?sslmode=disable&table=shop.sales", server.Port, db))
	require.NoError(t, err)
	require.NotContains(t, in.Name(), "right-pw")
	require.Equal(t, salesCSV, readAll(t, in))
	_, err = OpenOutput(ctx, fmt.Sprintf("postgres://analyst@127.0.0.1:%d/%s?sslmode=disable", server.Port, db), OutputOptions{Schema: "shop", Mode: Replace})
	require.NoError(t, err)
}

// closedPort is a port nothing listens on.
func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out dir", "r#1.db")
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	u := "sqlite:" + path
	write := func(mode Mode, run string, tables ...Table) ([]Written, error) {
		out, err := OpenOutput(ctx, u, OutputOptions{Mode: mode, RunID: run, RunTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
		require.NoError(t, err)
		defer out.Close()
		return out.Write(ctx, tables)
	}
	_, err := write(Replace, "r1", Table{Name: "t", Frame: sampleFrame()})
	require.NoError(t, err)
	w, err := write(Replace, "r2", Table{Name: "t", Frame: sampleFrame()})
	require.NoError(t, err)
	require.Equal(t, Location{Kind: SQLite, Path: path, Table: "t"}, w[0].Location)
	require.Equal(t, "DATE", w[0].Schema[0].Type)
	_, err = write(Append, "a1", Table{Name: "h", Frame: sampleFrame()})
	require.NoError(t, err)
	_, err = write(Append, "a2", Table{Name: "h", Frame: sampleFrame()})
	require.NoError(t, err)

	db, err := sql.Open("sqlite", sqliteDSN(path, true))
	require.NoError(t, err)
	defer db.Close()
	rowsOf := func(q string) [][]string {
		rows, err := db.Query(q)
		require.NoError(t, err)
		defer rows.Close()
		cols, _ := rows.Columns()
		var out [][]string
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			rec := make([]string, len(vals))
			for i, v := range vals {
				rec[i] = sqliteText(v)
				if v == nil {
					rec[i] = "NULL"
				}
			}
			out = append(out, rec)
		}
		return out
	}
	require.Equal(t, [][]string{
		{"2024-01-01", "1", "1.5", "a,b", "1"},
		{"2024-02-29", "-2", "NULL", `q"uote`, "0"},
		{"NULL", "9223372036854775807", "-0.25", "NULL", "1"},
	}, rowsOf("SELECT * FROM t ORDER BY rowid"))
	require.Equal(t, [][]string{{"a1", "3", "2026-01-02T03:04:05Z"}, {"a2", "3", "2026-01-02T03:04:05Z"}}, rowsOf("SELECT run_id, count(*), min(run_time) FROM h GROUP BY run_id ORDER BY run_id"))

	// A failing write (the second table's name is refused by SQLite: a
	// view of that name exists) leaves the first table as it was.
	_, err = db.Exec("SELECT 1") // read-only handle: use a writer for setup
	require.NoError(t, err)
	wdb, err := sql.Open("sqlite", sqliteDSN(path, false))
	require.NoError(t, err)
	_, err = wdb.Exec("CREATE VIEW v AS SELECT 1 AS n")
	require.NoError(t, err)
	wdb.Close()
	one := &frame.Frame{Columns: []frame.Column{{Name: "n", Kind: frame.KindInt, Ints: []int64{5}}}}
	_, err = write(Replace, "r3", Table{Name: "t", Frame: one}, Table{Name: "v", Frame: one})
	require.ErrorContains(t, err, "database sqlite:"+path)
	require.Len(t, rowsOf("SELECT * FROM t"), 3, "the first table of the failed run was rolled back")

	// Input from a table and from a query.
	in, err := OpenInput(ctx, "sqlite:"+path+"?table=t")
	require.NoError(t, err)
	require.Equal(t, "date,n,x,s,b\n2024-01-01,1,1.5,\"a,b\",1\n2024-02-29,-2,,\"q\"\"uote\",0\n,9223372036854775807,-0.25,,1\n", readAll(t, in))
	require.Equal(t, "DATE", in.Schema()[0].Type)
	in, err = OpenInput(ctx, "sqlite:"+path+"?query="+url.QueryEscape("SELECT n FROM t WHERE n > 0"))
	require.NoError(t, err)
	require.Equal(t, "n\n1\n9223372036854775807\n", readAll(t, in))

	// Errors.
	_, err = OpenInput(ctx, "sqlite:"+path+"?table=nosuch")
	require.ErrorContains(t, err, "no such table")
	_, err = OpenInput(ctx, "sqlite:"+filepath.Join(t.TempDir(), "none.db")+"?table=t")
	require.ErrorContains(t, err, "does not exist")
	_, err = OpenOutput(ctx, "sqlite:"+filepath.Join(t.TempDir(), "no", "dir.db"), OutputOptions{})
	require.ErrorContains(t, err, "cannot create")
	_, err = OpenOutput(ctx, u, OutputOptions{Schema: "x"})
	require.ErrorContains(t, err, "no schemas")
	notDB := filepath.Join(t.TempDir(), "text.db")
	require.NoError(t, os.WriteFile(notDB, []byte("date,amount\nthis is not a database file at all, but long enough to have a header of sorts..............................................."), 0o644))
	_, err = OpenOutput(ctx, "sqlite:"+notDB, OutputOptions{})
	require.ErrorContains(t, err, "not a usable SQLite database")
}
