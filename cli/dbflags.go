package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/salesdag/salesdag/internal/app"
	"github.com/salesdag/salesdag/internal/dbio"
)

// dbFlags are the flags of the output database (--output-db).
type dbFlags struct {
	url    string
	schema string
	mode   string
}

func addDBFlags(fl *pflag.FlagSet, f *dbFlags) {
	fl.StringVar(&f.url, "output-db", "", "also write the results as tables into a database, in one transaction with the files: postgres://USER@HOST:PORT/DB?sslmode=... (PG* variables and ~/.pgpass as libpq) or sqlite:`URL`")
	fl.StringVar(&f.schema, "db-schema", "", "PostgreSQL schema for --output-db tables (default public; created if missing)")
	fl.StringVar(&f.mode, "db-mode", "replace", "what --output-db does to existing tables: replace (the run's result only) or append (rows carry run_id and run_time)")
}

// options checks the flags and returns the database options of a run.
func (f *dbFlags) options() (app.DatabaseOptions, error) {
	mode, err := dbio.ParseMode(f.mode)
	if err != nil {
		return app.DatabaseOptions{}, &app.UsageError{Err: fmt.Errorf("--db-mode: %w", err)}
	}
	if f.url == "" {
		switch {
		case f.schema != "":
			return app.DatabaseOptions{}, &app.UsageError{Err: fmt.Errorf("--db-schema needs --output-db")}
		case mode != dbio.Replace:
			return app.DatabaseOptions{}, &app.UsageError{Err: fmt.Errorf("--db-mode needs --output-db")}
		}
		return app.DatabaseOptions{}, nil
	}
	if !dbio.IsURL(f.url) {
		return app.DatabaseOptions{}, &app.UsageError{Err: fmt.Errorf("--output-db %s: not a database URL (use postgres://USER@HOST:PORT/DB or sqlite:PATH)", dbio.Redact(f.url))}
	}
	return app.DatabaseOptions{URL: f.url, Schema: f.schema, Mode: mode}, nil
}
