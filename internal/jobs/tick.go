package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/robfig/cron/v3"

	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

// tickArgs is the periodic maintenance job: fire due schedules, remove
// expired exports, run the configured sweep.
type tickArgs struct{}

func (tickArgs) Kind() string { return "ipsd_tick" }

func (tickArgs) InsertOpts() river.InsertOpts {
	// One pending tick at a time, whichever process's leader inserted it.
	return river.InsertOpts{Queue: queueMaintenance, UniqueOpts: river.UniqueOpts{ByPeriod: tickInterval}}
}

type tickWorker struct {
	river.WorkerDefaults[tickArgs]
	e *Engine
}

func (w *tickWorker) Work(ctx context.Context, _ *river.Job[tickArgs]) error {
	return w.e.Tick(ctx)
}

// Tick does one round of maintenance; the periodic job calls it, tests too.
func (e *Engine) Tick(ctx context.Context) error {
	var errs []error
	if err := e.fireSchedules(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := e.purgeExpired(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := e.reapDeleting(ctx); err != nil {
		errs = append(errs, err)
	}
	if e.cfg.Sweep != nil {
		if err := e.cfg.Sweep(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ScheduleSpec is the stored request of a recurring export.
type ScheduleSpec struct {
	Export  ExportSpec `json:"export"`
	Handles []string   `json:"handles"`
}

// cronParser reads the IPS schedule format: Quartz-like, seconds first,
// 5 to 7 fields (seconds minutes hours day-of-month month [day-of-week]
// [year]); "?" means any.
func cronParser() cron.Parser {
	return cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.DowOptional)
}

// ParseSchedule parses an execSchedule. A year field is accepted only as
// "*" (every year), the only value a recurring export can honour forever.
func ParseSchedule(expr string) (cron.Schedule, error) {
	fields := strings.Fields(expr)
	if len(fields) < 5 || len(fields) > 7 {
		return nil, fmt.Errorf("execSchedule %q: want 5 to 7 fields (seconds minutes hours day-of-month month [day-of-week] [year]), got %d", expr, len(fields))
	}
	if len(fields) == 7 {
		if fields[6] != "*" {
			return nil, fmt.Errorf("execSchedule %q: a year other than * is not supported", expr)
		}
		fields = fields[:6]
	}
	s, err := cronParser().Parse(strings.Join(fields, " "))
	if err != nil {
		return nil, fmt.Errorf("execSchedule %q: %w", expr, err)
	}
	return s, nil
}

// AddSchedule records a recurring export, first firing at the schedule's
// next time after now.
func (e *Engine) AddSchedule(ctx context.Context, s store.Schedule, spec ScheduleSpec) (store.Schedule, error) {
	sched, err := ParseSchedule(s.Cron)
	if err != nil {
		return store.Schedule{}, err
	}
	// Each run resolves the conversion against the image formats of its
	// day, as a submit then would.
	spec.Export.Conversion = nil
	b, err := json.Marshal(spec)
	if err != nil {
		return store.Schedule{}, fmt.Errorf("schedule: %w", err)
	}
	s.Type = store.JobTypeExport
	s.Spec = b
	s.NextFire = sched.Next(e.cfg.Now().In(e.cfg.Location))
	if s.NextFire.IsZero() {
		return store.Schedule{}, fmt.Errorf("execSchedule %q never fires", s.Cron)
	}
	return e.st.CreateSchedule(ctx, s)
}

func (e *Engine) fireSchedules(ctx context.Context) error {
	now := e.cfg.Now()
	due, err := e.st.DueSchedules(ctx, now)
	if err != nil {
		return fmt.Errorf("due schedules: %w", err)
	}
	var errs []error
	for _, s := range due {
		if err := e.fire(ctx, s, now); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// prepareRun makes the job of one run of schedule s at now: its
// conversion resolved and its outputs named, ready to be written.
func (e *Engine) prepareRun(ctx context.Context, s store.Schedule, now time.Time) (store.NewJob, *Export, error) {
	var spec ScheduleSpec
	if err := json.Unmarshal(s.Spec, &spec); err != nil {
		return store.NewJob{}, nil, fmt.Errorf("schedule %s: %w", s.Handle, err)
	}
	co, err := e.st.CompanyByHandle(ctx, s.CompanyHandle)
	if err != nil {
		return store.NewJob{}, nil, fmt.Errorf("schedule %s: %w", s.Handle, err)
	}
	spec.Export, err = ResolveConversion(ctx, e.st, co.Handle, spec.Export)
	var pe *modifier.ParseError
	if errors.As(err, &pe) {
		// An image format changed since the schedule was made: the run is
		// made all the same, and its assets fail with the reason.
		e.log.Warn("scheduled export: conversion does not parse", "schedule", s.Handle, "err", err)
		spec.Export.Conversion = nil
	} else if err != nil {
		return store.NewJob{}, nil, fmt.Errorf("schedule %s: %w", s.Handle, err)
	}
	x, err := e.PrepareExport(ctx, co, spec.Export, spec.Handles, nil)
	if err != nil {
		return store.NewJob{}, nil, fmt.Errorf("schedule %s: %w", s.Handle, err)
	}
	nj := store.NewJob{
		CompanyHandle: s.CompanyHandle, Name: JobName(s.OriginalName, now), OriginalName: s.OriginalName,
		Description: s.Description, Locale: s.Locale, SubmitUserHandle: s.SubmitUserHandle,
		NotifyUserHandle: s.NotifyUserHandle, ScheduleHandle: s.Handle,
	}
	return nj, x, nil
}

// fire runs one due schedule once. Moving the schedule on (or, at its
// last run, removing it) and submitting its run are one transaction: of
// several leaders only the one whose move wins submits, and a submit that
// fails leaves the schedule due, to be fired by the next tick.
func (e *Engine) fire(ctx context.Context, s store.Schedule, now time.Time) error {
	sched, err := ParseSchedule(s.Cron)
	if err != nil {
		return err
	}
	// Read, resolve and name before the transaction, which then only writes.
	nj, x, err := e.prepareRun(ctx, s, now)
	if err != nil {
		return err
	}
	next := sched.Next(now.In(e.cfg.Location))
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		won := true
		if next.IsZero() {
			err = tx.DeleteSchedule(ctx, s.CompanyHandle, s.Handle)
		} else {
			won, err = tx.AdvanceSchedule(ctx, s.Handle, s.NextFire, next)
		}
		switch {
		case errors.Is(err, store.ErrNotFound) || (err == nil && !won):
			return errLost
		case err != nil:
			return err
		}
		_, err := e.submitIn(ctx, tx, nj, x)
		return err
	})
	if errors.Is(err, errLost) {
		return nil // another process fired it, or it was deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("schedule %s: %w", s.Handle, err)
	}
	return nil
}

// errLost: another process moved the schedule on first, or it is gone.
var errLost = errors.New("schedule fired elsewhere")

// JobName is a job's name: the submitted jobName and the submit time.
func JobName(jobName string, t time.Time) string {
	return jobName + "_" + t.UTC().Format("20060102T150405.000Z")
}

func (e *Engine) purgeExpired(ctx context.Context) error {
	jobs, err := e.st.ExpiredJobs(ctx, e.cfg.Now(), 100)
	if err != nil {
		return fmt.Errorf("expired jobs: %w", err)
	}
	for _, j := range jobs {
		if err := e.cfg.Blob.DeletePrefix(ctx, exportPrefix(j.Handle)); err != nil {
			return fmt.Errorf("purge %s: %w", j.Handle, err)
		}
		if err := e.st.MarkJobPurged(ctx, j.Handle); err != nil {
			return fmt.Errorf("purge %s: %w", j.Handle, err)
		}
		e.log.Info("export expired and removed", "job", j.Handle)
	}
	return nil
}

func stack() string { return string(debug.Stack()) }
