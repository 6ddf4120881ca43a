package dbio

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"

	"github.com/salesdag/salesdag/internal/frame"
)

// sqliteDSN is the driver's name for the file (a URI, so that any path
// works), read-only for inputs.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_txlock", "immediate")
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}).String()
}

func quoteSQLite(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// prepareSQLite checks the file and the table or query, and learns the
// columns' declared types.
func (in *Input) prepareSQLite(ctx context.Context) error {
	t := in.t
	in.loc = t.location("", "")
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return t.errorf("file %s does not exist", t.path)
	case err != nil:
		return t.errorf("%v", err)
	case st.IsDir():
		return t.errorf("%s is a directory, not a SQLite file", t.path)
	}
	if t.table != "" {
		if err := checkTableName(t.table); err != nil {
			return t.errorf("%v", err)
		}
		in.loc.Table = t.table
		in.sql = "SELECT * FROM " + quoteSQLite(t.table)
	} else {
		in.sql = strings.TrimRight(strings.TrimSpace(t.query), "; \t\r\n")
		in.loc.Query = in.sql
	}
	db, err := sql.Open("sqlite", sqliteDSN(t.path, true))
	if err != nil {
		return t.errorf("%v", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT * FROM ("+in.sql+") LIMIT 0")
	if err != nil {
		what := "query"
		if t.table != "" {
			what = "table " + t.table
		}
		return t.errorf("cannot read %s: %v", what, err)
	}
	cts, err := rows.ColumnTypes()
	rows.Close()
	if err != nil {
		return t.errorf("column types: %v", err)
	}
	for _, ct := range cts {
		in.schema = append(in.schema, frame.Field{Name: ct.Name(), Type: ct.DatabaseTypeName()})
	}
	in.openCopy = func(ctx context.Context, w io.Writer) error {
		return in.copySQLite(ctx, w)
	}
	return nil
}

// copySQLite writes the rows as CSV with a header: numbers in plain
// decimal, dates as YYYY-MM-DD, NULL as an empty field.
func (in *Input) copySQLite(ctx context.Context, w io.Writer) error {
	t := in.t
	db, err := sql.Open("sqlite", sqliteDSN(t.path, true))
	if err != nil {
		return t.errorf("%v", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, in.sql)
	if err != nil {
		return t.errorf("reading rows: %v", err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return t.errorf("reading rows: %v", err)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(names); err != nil {
		return err
	}
	vals := make([]any, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	rec := make([]string, len(names))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return t.errorf("reading rows: %v", err)
		}
		for i, v := range vals {
			rec[i] = sqliteText(v)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return t.errorf("reading rows: %v", err)
	}
	cw.Flush()
	return cw.Error()
}

// sqliteText formats one SQLite value as a CSV field.
func sqliteText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return string(x)
	case string:
		return x
	case time.Time:
		// The driver turns DATE/DATETIME columns into times.
		if x.Hour() == 0 && x.Minute() == 0 && x.Second() == 0 && x.Nanosecond() == 0 {
			return x.Format(time.DateOnly)
		}
		return x.Format(time.DateTime)
	}
	return fmt.Sprint(v)
}

// sqliteOutput writes tables into a SQLite file.
type sqliteOutput struct {
	t  *target
	db *sql.DB
}

// openSQLiteOutput checks that the file is a SQLite database, or that it
// can be created; it is created only by the first Write.
func openSQLiteOutput(ctx context.Context, t *target) (*sqliteOutput, error) {
	st, err := os.Stat(t.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		dir := filepath.Dir(t.path)
		probe, perr := os.CreateTemp(dir, ".salesdag-probe-*")
		if perr != nil {
			return nil, t.errorf("cannot create %s: %v", t.path, pathCause(perr))
		}
		probe.Close()
		os.Remove(probe.Name())
	case err != nil:
		return nil, t.errorf("%v", err)
	case st.IsDir():
		return nil, t.errorf("%s is a directory, not a SQLite file", t.path)
	}
	db, err := sql.Open("sqlite", sqliteDSN(t.path, false))
	if err != nil {
		return nil, t.errorf("%v", err)
	}
	db.SetMaxOpenConns(1)
	if err == nil && st != nil {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			db.Close()
			return nil, t.errorf("%s is not a usable SQLite database: %v", t.path, err)
		}
	}
	return &sqliteOutput{t: t, db: db}, nil
}

func pathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (o *sqliteOutput) close() error { return o.db.Close() }

// sqliteType is the declared column type of a frame kind: BOOLEAN holds
// 0/1, DATE holds YYYY-MM-DD text.
func sqliteType(k frame.Kind) string {
	switch k {
	case frame.KindInt:
		return "INTEGER"
	case frame.KindFloat:
		return "REAL"
	case frame.KindBool:
		return "BOOLEAN"
	case frame.KindDate:
		return "DATE"
	}
	return "TEXT"
}

// sqliteBatchRows is how many rows one INSERT carries.
const sqliteBatchRows = 256

func (o *sqliteOutput) write(ctx context.Context, w *Output, tables []Table) ([]Written, error) {
	t := o.t
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, t.errorf("cannot start a transaction: %v", err)
	}
	defer tx.Rollback() // a no-op after Commit
	var out []Written
	for _, tb := range tables {
		cols := w.columns(tb.Frame, sqliteType)
		id := quoteSQLite(tb.Name)
		existing, err := sqliteColumns(ctx, tx, tb.Name)
		if err != nil {
			return nil, t.errorf("looking up table %s: %v", tb.Name, err)
		}
		same := sameColumns(existing, cols)
		create := "CREATE TABLE " + id + " (" + columnDDL(cols, quoteSQLite) + ")"
		var stmts []string
		switch {
		case existing == nil:
			stmts = []string{create}
		case w.mode == Append && !same:
			return nil, t.errorf("table %s has columns (%s), this run writes (%s): write to another file, or use --db-mode replace", tb.Name, describe(existing), describe(cols))
		case w.mode == Replace && same:
			stmts = []string{"DELETE FROM " + id}
		case w.mode == Replace:
			stmts = []string{"DROP TABLE " + id, create}
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return nil, t.errorf("table %s: %v", tb.Name, err)
			}
		}
		n, err := insertSQLite(ctx, tx, id, cols, tb.Frame, w.runColumns())
		if err != nil {
			return nil, t.errorf("writing table %s: %v", tb.Name, err)
		}
		out = append(out, Written{Table: tb.Name, Location: t.location("", tb.Name), Rows: n, Schema: cols})
		if w.afterTable != nil {
			w.afterTable(tb.Name)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, t.errorf("commit failed, nothing was written: %v", err)
	}
	return out, nil
}

// sqliteColumns lists a table's columns and declared types (nil: none).
func sqliteColumns(ctx context.Context, tx *sql.Tx, table string) ([]frame.Field, error) {
	rows, err := tx.QueryContext(ctx, "SELECT name, type FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []frame.Field
	for rows.Next() {
		var f frame.Field
		if err := rows.Scan(&f.Name, &f.Type); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// insertSQLite inserts the frame's rows with prepared multi-row INSERTs.
func insertSQLite(ctx context.Context, tx *sql.Tx, id string, cols []frame.Field, f *frame.Frame, run []any) (int64, error) {
	per := max(1, min(sqliteBatchRows, 30000/len(cols)))
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = quoteSQLite(c.Name)
	}
	stmtFor := func(rows int) (*sql.Stmt, error) {
		one := "(" + strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",") + ")"
		q := "INSERT INTO " + id + " (" + strings.Join(names, ", ") + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
		return tx.PrepareContext(ctx, q)
	}
	total := f.Rows()
	var full *sql.Stmt
	args := make([]any, 0, per*len(cols))
	for start := 0; start < total; start += per {
		end := min(start+per, total)
		args = args[:0]
		for i := start; i < end; i++ {
			args = append(args, run...)
			for c := range f.Columns {
				args = append(args, sqliteValue(&f.Columns[c], i))
			}
		}
		var stmt *sql.Stmt
		var err error
		if end-start == per {
			if full == nil {
				if full, err = stmtFor(per); err != nil {
					return 0, err
				}
				defer full.Close()
			}
			stmt = full
		} else {
			if stmt, err = stmtFor(end - start); err != nil {
				return 0, err
			}
			defer stmt.Close()
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return 0, err
		}
	}
	return int64(total), nil
}

func sqliteValue(c *frame.Column, i int) any {
	if c.IsNull(i) {
		return nil
	}
	switch c.Kind {
	case frame.KindInt:
		return c.Ints[i]
	case frame.KindFloat:
		return c.Floats[i]
	case frame.KindString:
		return c.Strings[i]
	case frame.KindBool:
		if c.Bools[i] {
			return int64(1)
		}
		return int64(0)
	case frame.KindDate:
		return c.Dates[i].String()
	}
	return nil
}
