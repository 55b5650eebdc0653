package broker

import (
	"github.com/ThreeDotsLabs/watermill"
	"github.com/rs/zerolog"
)

// LoggerAdapter returns a Watermill logger writing to l, with its fields.
// Watermill's error, debug and trace logs keep their levels; its info logs,
// which narrate the router's start and stop, go to debug.
func LoggerAdapter(l zerolog.Logger) watermill.LoggerAdapter {
	return zerologAdapter{l}
}

type zerologAdapter struct{ l zerolog.Logger }

// fields converts Watermill's named map type, which zerolog's Fields does
// not recognise.
func fields(f watermill.LogFields) map[string]any { return map[string]any(f) }

func (z zerologAdapter) Error(msg string, err error, f watermill.LogFields) {
	z.l.Error().Err(err).Fields(fields(f)).Msg(msg)
}

func (z zerologAdapter) Info(msg string, f watermill.LogFields) {
	z.l.Debug().Fields(fields(f)).Msg(msg)
}

func (z zerologAdapter) Debug(msg string, f watermill.LogFields) {
	z.l.Debug().Fields(fields(f)).Msg(msg)
}

func (z zerologAdapter) Trace(msg string, f watermill.LogFields) {
	z.l.Trace().Fields(fields(f)).Msg(msg)
}

func (z zerologAdapter) With(f watermill.LogFields) watermill.LoggerAdapter {
	return zerologAdapter{z.l.With().Fields(fields(f)).Logger()}
}
