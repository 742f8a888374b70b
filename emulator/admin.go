package emulator

import (
	"encoding/json"
	"io"
	"net/http"
)

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

func (s *Server) adminMedia(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, s.Media())
}

func (s *Server) adminMediaByID(w http.ResponseWriter, r *http.Request) {
	m, ok := s.MediaByID(r.PathValue("id"))
	if !ok {
		adminError(w, http.StatusNotFound, "no such media id")
		return
	}
	adminJSON(w, http.StatusOK, m)
}

func (s *Server) adminStats(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, s.Stats())
}

func (s *Server) adminGetFaults(w http.ResponseWriter, r *http.Request) {
	adminJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) adminSetFaults(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		adminError(w, http.StatusBadRequest, "read body: "+err.Error())
		return
	}
	var f Faults
	if err := json.Unmarshal(body, &f); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := f.Validate(); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.SetFaults(f)
	adminJSON(w, http.StatusOK, f)
}

func (s *Server) adminReset(w http.ResponseWriter, r *http.Request) {
	s.Reset()
	adminJSON(w, http.StatusOK, map[string]bool{"reset": true})
}
