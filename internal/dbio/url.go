// Package dbio reads sales from, and writes results into, PostgreSQL and
// SQLite. It knows connections and tables, not OpenLineage nor the
// pipeline: an input is a byte stream of CSV (what the file reader reads),
// an output is a set of tables written in one transaction.
//
// URLs:
//
//	postgres://user@host:port/db?sslmode=...   (also postgresql://; PG*
//	                                           variables and ~/.pgpass fill
//	                                           in what is left out, as libpq)
//	sqlite:PATH                                (a file; sqlite://PATH too)
//
// An input names what to read with ?table=NAME (schema.table allowed) or
// ?query=SELECT...; those parameters are salesdag's, not the driver's.
//
// A password never leaves this package in a message: URLs are shown with
// the password replaced by "xxxxx" (as net/url.URL.Redacted does) and any
// error text is scrubbed of the password, wherever it came from (URL,
// PGPASSWORD or .pgpass).
package dbio

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Kind is the database engine of a URL.
type Kind string

const (
	Postgres Kind = "postgres"
	SQLite   Kind = "sqlite"
)

// IsURL reports whether s names a database rather than a file: it starts
// with postgres://, postgresql:// or sqlite:.
func IsURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://") || strings.HasPrefix(l, "sqlite:")
}

// Location says where a table lives, in the terms of the OpenLineage naming
// conventions (which the caller applies): for PostgreSQL the server's host
// and port and the database, schema and table; for SQLite the database
// file's absolute path and the table.
type Location struct {
	Kind     Kind
	Host     string // PostgreSQL
	Port     uint16 // PostgreSQL
	Database string // PostgreSQL
	Schema   string // PostgreSQL; "" for a query
	Table    string // "" for a query
	Path     string // SQLite: absolute path of the database file
	// Query is the SQL text of a ?query= input.
	Query string
}

// target is a parsed URL.
type target struct {
	kind    Kind
	display string // the URL with the password masked, without salesdag's parameters
	pg      *pgx.ConnConfig
	path    string // SQLite file (absolute)
	table   string
	query   string
	secret  string // the password, to scrub from messages
}

// Redact returns the URL with its password masked, for messages. A
// string that is not a URL is returned as is.
func Redact(raw string) string {
	if strings.HasPrefix(strings.ToLower(raw), "sqlite:") {
		return raw // a file name: no password
	}
	u, err := url.Parse(raw)
	if err == nil {
		q := u.Query()
		masked := false
		for k := range q {
			if strings.Contains(strings.ToLower(k), "password") {
				q[k], masked = []string{"xxxxx"}, true
			}
		}
		if masked {
			u.RawQuery = q.Encode()
		} else if u.User == nil {
			return raw
		}
		return u.Redacted()
	}
	// Do not echo something that may hold a password in a form net/url
	// cannot read.
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "xxxxx" + raw[i:]
		}
	}
	return raw
}

// parse reads a database URL. input says whether ?table= / ?query= are
// expected (and required).
func parse(raw string, input bool) (*target, error) {
	if strings.HasPrefix(strings.ToLower(raw), "sqlite:") {
		return parseSQLite(raw, input)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: cannot be parsed: %s", Redact(raw), scrubURLError(err, raw))
	}
	q := u.Query()
	t := &target{table: q.Get("table"), query: q.Get("query")}
	q.Del("table")
	q.Del("query")
	if pw, ok := u.User.Password(); ok {
		t.secret = pw
	}
	if err := t.checkParams(raw, input); err != nil {
		return nil, err
	}
	switch strings.ToLower(u.Scheme) {
	case "postgres", "postgresql":
		t.kind = Postgres
		u.RawQuery = q.Encode()
		dsn := u.String()
		u.RawQuery = ""
		t.display = u.Redacted()
		if len(q) > 0 {
			masked := url.Values{}
			for k, v := range q {
				if strings.Contains(strings.ToLower(k), "password") {
					v = []string{"xxxxx"}
				}
				masked[k] = v
			}
			t.display += "?" + masked.Encode()
		}
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("database %s: %s", t.display, t.scrub(err.Error()))
		}
		if cfg.Password != "" {
			t.secret = cfg.Password // from the URL, PGPASSWORD or .pgpass
		}
		for _, fb := range cfg.Fallbacks {
			if fb.Host != cfg.Host || fb.Port != cfg.Port {
				return nil, fmt.Errorf("database %s: several hosts are not supported: name one", t.display)
			}
		}
		// Stable output: ISO dates whatever the server's default, and a
		// table read twice comes out in the same order.
		cfg.RuntimeParams["DateStyle"] = "ISO, YMD"
		cfg.RuntimeParams["synchronize_seqscans"] = "off"
		cfg.RuntimeParams["application_name"] = "salesdag"
		t.pg = cfg
	default:
		return nil, fmt.Errorf("database URL %s: unknown scheme %q (use postgres:// or sqlite:)", Redact(raw), u.Scheme)
	}
	return t, nil
}

// parseSQLite reads sqlite:PATH[?table=...|query=...]. The path is taken
// as written (no %-decoding), up to the first "?".
func parseSQLite(raw string, input bool) (*target, error) {
	rest := raw[len("sqlite:"):]
	p, rawQuery, _ := strings.Cut(rest, "?")
	p = strings.TrimPrefix(p, "//") // sqlite:///abs/path, sqlite://rel/path
	if p == "" {
		return nil, fmt.Errorf("database URL %s: name the SQLite file, e.g. sqlite:results.db", raw)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("database URL %s: %v", raw, err)
	}
	t := &target{kind: SQLite, table: q.Get("table"), query: q.Get("query"), display: "sqlite:" + p}
	q.Del("table")
	q.Del("query")
	if len(q) > 0 {
		return nil, fmt.Errorf("database URL %s: unknown parameter %q (SQLite URLs take only table= or query=)", raw, firstKey(q))
	}
	if err := t.checkParams(raw, input); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", p, err)
	}
	t.path = abs
	return t, nil
}

func (t *target) checkParams(raw string, input bool) error {
	switch {
	case input && t.table == "" && t.query == "":
		//lint:ignore ST1005 the message ends with an example query
		return fmt.Errorf("database input %s: say what to read with ?table=NAME or ?query=SELECT...", Redact(raw))
	case input && t.table != "" && t.query != "":
		return fmt.Errorf("database input %s: give ?table= or ?query=, not both", Redact(raw))
	case !input && (t.table != "" || t.query != ""):
		return fmt.Errorf("database output %s: ?table= and ?query= are for --input; output tables are named after the outputs", Redact(raw))
	}
	return nil
}

func firstKey(q url.Values) string {
	for k := range q {
		return k
	}
	return ""
}

// scrub removes the password from a message.
func (t *target) scrub(s string) string {
	if t.secret == "" {
		return s
	}
	s = strings.ReplaceAll(s, t.secret, "xxxxx")
	if esc := url.QueryEscape(t.secret); esc != t.secret {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	if esc := url.PathEscape(t.secret); esc != t.secret {
		s = strings.ReplaceAll(s, esc, "xxxxx")
	}
	return s
}

// scrubURLError keeps the reason of a url.Parse error without the URL.
func scrubURLError(err error, raw string) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return strings.ReplaceAll(err.Error(), raw, Redact(raw))
}

// location returns where table lives.
func (t *target) location(schema, table string) Location {
	l := Location{Kind: t.kind, Table: table}
	switch t.kind {
	case Postgres:
		l.Host, l.Port, l.Database, l.Schema = t.pg.Host, t.pg.Port, t.pg.Database, schema
		if strings.HasPrefix(l.Host, "/") {
			l.Host = "localhost" // a Unix socket: the server is this machine
		}
		l.Database = cmp.Or(l.Database, t.pg.User) // libpq's default
	case SQLite:
		l.Path = t.path
	}
	return l
}

// Endpoint returns "host:port" (PostgreSQL) or the file (SQLite), for
// messages.
func (l Location) Endpoint() string {
	if l.Kind == SQLite {
		return l.Path
	}
	return net.JoinHostPort(l.Host, strconv.Itoa(int(l.Port)))
}

// Where names the database for people: postgres://host:port/db (never
// a user or password), or sqlite: and the file.
func (l Location) Where() string {
	if l.Kind == SQLite {
		return "sqlite:" + l.Path
	}
	return "postgres://" + l.Endpoint() + "/" + l.Database
}

// TableName is schema.table (PostgreSQL) or the table (SQLite).
func (l Location) TableName() string {
	if l.Schema != "" {
		return l.Schema + "." + l.Table
	}
	return l.Table
}

// splitTable reads "table" or "schema.table".
func splitTable(s, defSchema string) (schema, table string, err error) {
	schema, table = defSchema, s
	if i := strings.IndexByte(s, '.'); i >= 0 {
		schema, table = s[:i], s[i+1:]
	}
	if table == "" || schema == "" || strings.ContainsRune(table, '.') || strings.ContainsRune(s, 0) {
		return "", "", fmt.Errorf("table name %q: use NAME or SCHEMA.NAME", s)
	}
	return schema, table, nil
}
