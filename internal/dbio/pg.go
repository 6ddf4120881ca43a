package dbio

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/salesdag/salesdag/internal/frame"
)

// defaultConnectTimeout bounds a connection attempt when neither the URL
// (connect_timeout) nor PGCONNECT_TIMEOUT does: an unreachable host must
// not hang a run.
const defaultConnectTimeout = 15 * time.Second

// connectPG opens one connection; the error names the database without
// its password.
func (t *target) connectPG(ctx context.Context) (*pgx.Conn, error) {
	cfg := t.pg.Copy()
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, defaultConnectTimeout)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, t.errorf("cannot connect: %s", pgCause(err))
	}
	return conn, nil
}

// errorf makes a one-line error naming the database, password scrubbed.
func (t *target) errorf(format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	msg = strings.Join(strings.Fields(msg), " ") // one line
	return errors.New(t.scrub("database " + t.display + ": " + msg))
}

// pgCause is the useful part of a pgx error: the server's message with
// its SQLSTATE, or the connection problem.
func pgCause(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		s := pe.Message
		if pe.Detail != "" {
			s += " (" + pe.Detail + ")"
		}
		return fmt.Sprintf("%s (SQLSTATE %s)", s, pe.Code)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		if u := errors.Unwrap(ce); u != nil {
			return u.Error()
		}
	}
	return err.Error()
}

// preparePG resolves the table (or describes the query) and the column types.
func (in *Input) preparePG(ctx context.Context) error {
	t := in.t
	conn, err := t.connectPG(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	in.loc = t.location("", "")
	var copySQL string
	if t.table != "" {
		rel := pgx.Identifier{t.table}.Sanitize()
		if strings.Contains(t.table, ".") {
			schema, table, err := splitTable(t.table, "")
			if err != nil {
				return t.errorf("%v", err)
			}
			rel = pgx.Identifier{schema, table}.Sanitize()
		}
		var schema, table *string
		err := conn.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)`, rel).Scan(&schema, &table)
		if errors.Is(err, pgx.ErrNoRows) {
			return t.errorf("table %s does not exist (or is not visible to user %s): check ?table=", t.table, t.pg.User)
		}
		if err != nil {
			return t.errorf("looking up table %s: %s", t.table, pgCause(err))
		}
		in.loc.Schema, in.loc.Table = *schema, *table
		in.sql = "SELECT * FROM " + pgx.Identifier{*schema, *table}.Sanitize()
		copySQL = "COPY " + pgx.Identifier{*schema, *table}.Sanitize() + " TO STDOUT WITH (FORMAT csv, HEADER true)"
	} else {
		in.sql = strings.TrimRight(strings.TrimSpace(t.query), "; \t\r\n")
		in.loc.Query = in.sql
		copySQL = "COPY (" + in.sql + ") TO STDOUT WITH (FORMAT csv, HEADER true)"
	}
	sd, err := conn.Prepare(ctx, "", in.sql)
	if err != nil {
		what := "query"
		if t.table != "" {
			what = "table " + t.table
		}
		return t.errorf("cannot read %s: %s", what, pgCause(err))
	}
	for _, f := range sd.Fields {
		var typ string
		if err := conn.QueryRow(ctx, "SELECT format_type($1::oid, $2::int)", f.DataTypeOID, f.TypeModifier).Scan(&typ); err != nil {
			return t.errorf("column types: %s", pgCause(err))
		}
		in.schema = append(in.schema, frame.Field{Name: f.Name, Type: typ})
	}
	in.openCopy = func(ctx context.Context, w io.Writer) error {
		conn, err := t.connectPG(ctx)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if _, err := conn.PgConn().CopyTo(ctx, w, copySQL); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return t.errorf("reading rows: %s", pgCause(err))
		}
		return nil
	}
	return nil
}

// pgOutput writes tables into PostgreSQL.
type pgOutput struct {
	t      *target
	schema string
	conn   *pgx.Conn
}

func (o *pgOutput) close() {
	if o.conn != nil {
		o.conn.Close(context.Background())
	}
}

// pgType is the column type of a frame kind.
func pgType(k frame.Kind) string {
	switch k {
	case frame.KindInt:
		return "bigint"
	case frame.KindFloat:
		return "double precision"
	case frame.KindBool:
		return "boolean"
	case frame.KindDate:
		return "date"
	}
	return "text"
}

// write writes every table in one transaction.
func (o *pgOutput) write(ctx context.Context, w *Output, tables []Table) ([]Written, error) {
	t := o.t
	tx, err := o.conn.Begin(ctx)
	if err != nil {
		return nil, t.errorf("cannot start a transaction: %s", pgCause(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // a no-op after Commit
	if o.schema != "public" {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", o.schema).Scan(&exists); err != nil {
			return nil, t.errorf("looking up schema %s: %s", o.schema, pgCause(err))
		}
		if !exists {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{o.schema}.Sanitize()); err != nil {
				return nil, t.errorf("cannot create schema %s: %s", o.schema, pgCause(err))
			}
		}
	}
	var out []Written
	for _, tb := range tables {
		cols := w.columns(tb.Frame, pgType)
		id := pgx.Identifier{o.schema, tb.Name}
		existing, err := o.tableColumns(ctx, tx, tb.Name)
		if err != nil {
			return nil, err
		}
		same := sameColumns(existing, cols)
		switch {
		case existing == nil:
			if _, err := tx.Exec(ctx, "CREATE TABLE "+id.Sanitize()+" ("+columnDDL(cols, func(s string) string { return pgx.Identifier{s}.Sanitize() })+")"); err != nil {
				return nil, t.errorf("cannot create table %s.%s: %s", o.schema, tb.Name, pgCause(err))
			}
		case w.mode == Append && !same:
			return nil, t.errorf("table %s.%s has columns (%s), this run writes (%s): write to another --db-schema, or use --db-mode replace", o.schema, tb.Name, describe(existing), describe(cols))
		case w.mode == Replace && same:
			if _, err := tx.Exec(ctx, "TRUNCATE "+id.Sanitize()); err != nil {
				return nil, t.errorf("cannot empty table %s.%s: %s", o.schema, tb.Name, pgCause(err))
			}
		case w.mode == Replace:
			if _, err := tx.Exec(ctx, "DROP TABLE "+id.Sanitize()); err != nil {
				return nil, t.errorf("cannot replace table %s.%s (its columns change): %s", o.schema, tb.Name, pgCause(err))
			}
			if _, err := tx.Exec(ctx, "CREATE TABLE "+id.Sanitize()+" ("+columnDDL(cols, func(s string) string { return pgx.Identifier{s}.Sanitize() })+")"); err != nil {
				return nil, t.errorf("cannot create table %s.%s: %s", o.schema, tb.Name, pgCause(err))
			}
		}
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.Name
		}
		n, err := tx.CopyFrom(ctx, id, names, &pgRows{f: tb.Frame, run: w.runColumns()})
		if err != nil {
			return nil, t.errorf("writing table %s.%s: %s", o.schema, tb.Name, pgCause(err))
		}
		out = append(out, Written{Table: tb.Name, Location: t.location(o.schema, tb.Name), Rows: n, Schema: cols})
		if w.afterTable != nil {
			w.afterTable(tb.Name)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, t.errorf("commit failed, nothing was written: %s", pgCause(err))
	}
	return out, nil
}

// tableColumns lists an existing table's columns with their types (nil:
// no such table).
func (o *pgOutput) tableColumns(ctx context.Context, tx pgx.Tx, table string) ([]frame.Field, error) {
	rows, err := tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, o.schema, table)
	if err != nil {
		return nil, o.t.errorf("looking up table %s.%s: %s", o.schema, table, pgCause(err))
	}
	var out []frame.Field
	for rows.Next() {
		var f frame.Field
		if err := rows.Scan(&f.Name, &f.Type); err != nil {
			return nil, o.t.errorf("looking up table %s.%s: %s", o.schema, table, pgCause(err))
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, o.t.errorf("looking up table %s.%s: %s", o.schema, table, pgCause(err))
	}
	return out, nil
}

// pgRows feeds a frame to CopyFrom.
type pgRows struct {
	f    *frame.Frame
	run  []any // run_id, run_time (append mode)
	i    int
	vals []any
}

func (r *pgRows) Next() bool {
	if r.i >= r.f.Rows() {
		return false
	}
	r.i++
	return true
}

func (r *pgRows) Values() ([]any, error) {
	i := r.i - 1
	r.vals = append(r.vals[:0], r.run...)
	for c := range r.f.Columns {
		col := &r.f.Columns[c]
		if col.IsNull(i) {
			r.vals = append(r.vals, nil)
			continue
		}
		switch col.Kind {
		case frame.KindInt:
			r.vals = append(r.vals, col.Ints[i])
		case frame.KindFloat:
			r.vals = append(r.vals, col.Floats[i])
		case frame.KindString:
			r.vals = append(r.vals, col.Strings[i])
		case frame.KindBool:
			r.vals = append(r.vals, col.Bools[i])
		case frame.KindDate:
			r.vals = append(r.vals, pgtype.Date{Time: col.Dates[i].Time(), Valid: true})
		}
	}
	return r.vals, nil
}

func (r *pgRows) Err() error { return nil }
