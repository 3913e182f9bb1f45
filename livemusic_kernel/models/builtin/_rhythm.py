"""Rhythm: onsets, the beat grid, and how notes sit on it.

* The onset envelope is SuperFlux (the rise of log mel magnitudes over
  20 ms, against the loudest neighbouring band before), relative to the
  clip's own peak so that the playback level does not matter.
* Tempo is the tempo follower's (``follow.py``), whose prior around 120 BPM
  picks the wrong octave for a 70 BPM hip-hop beat or 174 BPM drum and bass.
  A listener taps the pulse on which the snare falls every second beat, so
  a backbeat (snare-like hits: broadband percussive energy from 150 Hz to
  5 kHz that comes without a kick, recurring every 0.6 to 2 s, and not
  every onset) moves the follower's tempo to its octave. Without one, a
  steady kick settles the 3:2 and 4:3 confusions of a pulse heard on
  dotted beats.
* The beat grid's phase is where the beat-synchronous profile of onsets
  (kicks counted three times: off-beat stabs must not take the beat) peaks.
* Density counts notes per beat: peaks of a second envelope that only a
  new note clears (6 dB above the band's median over the last 100 ms), so
  that swelling, wavering bowed and pad notes count once.
* Swing is where the off-beat eighth sits between two beats: the
  beat-synchronous average of the envelope has its off-beat peak at 0.5 of
  the beat when straight and at 2/3 for triplet swing.
* Syncopation follows Longuet-Higgins and Lee: an onset on a weak position
  (the second eighth, a sixteenth) that is louder than the stronger position
  after it is syncopated, by how much weaker its position is. Accents come
  from the envelope sampled on the (swing-adjusted) sixteenth grid of every
  beat, so straight hats under a kick on every beat score nothing and an
  off-beat skank scores high. The low end (kick and bass, below 250 Hz) is
  also scored on its own and the higher of the two counts: a funk or reggae
  bass line pushes against the beat under drums that keep it, and in the
  summed envelope the hats' steady sixteenths hide the push (a funk band with
  a syncopated bass scored 0.05, its bass alone 0.72).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

from ._spectra import Spectra

MIN_SECONDS = 4.0          # the shortest clip a tempo is read from
MIN_CONFIDENCE = 0.3       # the follower's confidence below which its tempo is not used
PHASES = 48                # points per beat in the beat-synchronous profile
LOW_END_HZ = 250.0         # kick and bass: the band whose syncopation is also scored alone
#: How much the low end's syncopation counts against the whole mix's. Alone it has fewer parts
#: to even it out, so it reads higher than a listener hears it in the mix: General MIDI's funk
#: groove reads 0.29 whole and 0.78 low.
LOW_END_WEIGHT = 0.75


@dataclass(frozen=True)
class Rhythm:
    bpm: float | None
    confidence: float
    #: The tempo the follower reported before the backbeat and kick checks (None without one).
    follower_bpm: float | None
    onsets_per_second: float
    #: Onsets per beat (per half second when no tempo was found).
    onsets_per_beat: float
    #: Where the off-beat eighth sits, as a fraction of the beat (0.5 straight, 2/3 triplet).
    swing_ratio: float
    #: Longuet-Higgins and Lee syncopation per unit of onset strength, 0 (none) to about 1.
    syncopation: float


def onset_envelope(mel: np.ndarray, hop: float) -> np.ndarray:
    """SuperFlux (Boeck and Widmer 2013): the rise of log mel magnitudes over about 20 ms,
    measured against the loudest neighbouring band of the earlier frame so that vibrato
    and glides (energy moving between bands) are not onsets; summed over bands."""
    reference = float(np.percentile(mel, 99.5)) + 1e-12
    log = np.log1p(1000.0 * mel / reference)
    lag = max(1, int(round(0.02 / hop)))
    earlier = maximum_filter1d(log, 3, axis=1, mode="nearest")
    earlier = np.vstack([np.repeat(earlier[:1], lag, axis=0), earlier[:-lag]])
    return np.maximum(log - earlier, 0.0).sum(axis=1)


def note_envelope(mel: np.ndarray, hop: float) -> np.ndarray:
    """Where notes start, for counting them: how far each band's level (in dB, 70 dB
    below the clip's peak at most) rises more than 6 dB above its median over the
    previous 100 ms, summed over bands. Bowed, sung and pad notes swell and waver by a few
    dB all the time; against the recent median only a new note clears 6 dB."""
    level = 20.0 * np.log10(np.maximum(mel / (mel.max() + 1e-20), 10 ** -3.5))
    width = max(3, int(round(0.1 / hop)))
    gap = max(1, int(round(0.02 / hop)))
    recent = median_filter(level, size=(width, 1), mode="nearest", origin=((width - 1) // 2, 0))
    recent = np.vstack([np.repeat(recent[:1], gap, axis=0), recent[:-gap]])
    return np.maximum(level - recent - 6.0, 0.0).sum(axis=1)


#: The least rise (dB above the recent median, summed over bands) that counts as a note: ten
#: bands rising 10 dB. Bowed and pad notes that only waver stay below it.
NOTE_FLOOR = 40.0
#: How far an onset stands above the mean of the envelope around it.
PEAK_OVER_MEAN = 1.15


def peaks(envelope: np.ndarray, hop: float) -> np.ndarray:
    """Frames of onsets: local maxima within 50 ms (the first frame of a plateau) that stand
    PEAK_OVER_MEAN times above the mean of the surrounding 200 ms, above NOTE_FLOOR and 5% of the
    clip's strongest onset after its first 100 ms (a clip that starts from silence starts
    with a rise no note can match)."""
    if len(envelope) < 3 or envelope.max() <= 0:
        return np.zeros(0, dtype=int)
    near = max(1, int(round(0.05 / hop)))
    around = max(3, int(round(0.1 / hop)))
    local_max = maximum_filter1d(envelope, 2 * near + 1, mode="nearest")
    local_mean = uniform_filter1d(envelope, 2 * around + 1, mode="nearest")
    later = envelope[int(0.1 / hop):]
    floor = max(NOTE_FLOOR, 0.05 * float(later.max()) if len(later) else 0.0)
    rising = np.concatenate([[True], envelope[1:] > envelope[:-1]])
    candidates = (envelope == local_max) & rising & (envelope > local_mean * PEAK_OVER_MEAN) & (envelope > floor)
    return np.flatnonzero(candidates)


def _autocorrelation(envelope: np.ndarray) -> np.ndarray:
    centred = envelope - envelope.mean()
    n = len(centred)
    spectrum = np.fft.rfft(centred, 2 * n)
    correlation = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    return correlation / correlation[0] if correlation[0] > 0 else np.zeros(n)


def backbeat_envelope(s: Spectra) -> np.ndarray:
    """Snare-like hits: the rise of percussive power from 150 Hz to 5 kHz, less the rise below
    150 Hz (a kick's click reaches the mid band, but its body is far louder below it)."""
    power = s.percussive ** 2
    rise = np.maximum(np.diff(power, axis=0, prepend=power[:1]), 0.0)
    mid = rise[:, (s.mel_hz >= 150) & (s.mel_hz < 5000)].sum(axis=1)
    low = rise[:, s.mel_hz < 150].sum(axis=1)
    return np.maximum(mid - low, 0.0)


def _vertex(left: float, mid: float, right: float) -> float:
    """Where the parabola through three neighbouring values peaks, relative to the middle one."""
    denominator = left - 2 * mid + right
    return 0.5 * (left - right) / denominator if denominator < 0 else 0.0


def _periods(correlation: np.ndarray, low: float, high: float, hop: float) -> list[tuple[float, float]]:
    """(lag in frames, refined; correlation) of each local maximum of at least 0.5 between
    ``low`` and ``high`` seconds, shortest first."""
    first, last = int(low / hop), min(int(np.ceil(high / hop)), len(correlation) - 2)
    if last <= first:
        return []
    lags = np.arange(max(first, 1), last + 1)
    here = correlation[lags]
    local = lags[(here >= correlation[lags - 1]) & (here >= correlation[lags + 1]) & (here >= 0.5)]
    return [(lag + _vertex(*correlation[lag - 1:lag + 2]), float(correlation[lag])) for lag in local]


def _shortest_strong(periods: list[tuple[float, float]]) -> float:
    """The shortest period whose correlation is within 80% of the strongest: the pulse, not
    its multiples."""
    best = max(value for _, value in periods)
    return next(lag for lag, value in periods if value >= 0.8 * best)


def backbeat_bpm(s: Spectra, onsets_per_second: float) -> float | None:
    """The tempo that puts snare-like hits on every second beat, or None without a clear backbeat.

    The backbeat's period is the shortest strong peak of the snare envelope's autocorrelation
    between 0.6 and 2 s (two beats at 200 and at 60 BPM) with nothing a half, a third or a
    quarter of the way: snares every second beat, not every beat (nor every 1.5 beats). A
    backbeat is a few of the onsets (kicks and hats come between), so at least 1.8 onsets per
    snare are needed: a tune in even notes is not a backbeat.
    """
    snare = backbeat_envelope(s)
    power = s.percussive ** 2
    total = np.maximum(np.diff(power, axis=0), 0.0).sum()
    if snare.sum() < 0.05 * total or len(snare) * s.hop < 2.5:
        return None
    correlation = _autocorrelation(snare)
    candidates = []
    for lag, value in _periods(correlation, 0.6, 2.05, s.hop):
        # Nothing may hit a half, third or quarter of the way: that would be a faster pulse.
        within = np.interp(lag / np.array([2.0, 3.0, 4.0]), np.arange(len(correlation)), correlation)
        if within.max() < 0.3:
            candidates.append((lag, value))
    if not candidates:
        return None
    lag = _shortest_strong(candidates)
    if onsets_per_second < 1.8 / (lag * s.hop):
        return None  # every onset is a "snare": a tune's notes, not a kit's backbeat
    return 2 * 60.0 / (lag * s.hop)


def _kick_rise(s: Spectra) -> np.ndarray:
    low = s.percussive[:, s.mel_hz < 150] ** 2
    return np.maximum(np.diff(low, axis=0, prepend=low[:1]), 0.0).sum(axis=1)


def kick_bpm(s: Spectra) -> float | None:
    """The rate of the kick pulse (BPM), or None without a steady one: the shortest strong
    peak of the low-band rise's autocorrelation between 0.3 and 2 s."""
    rise = _kick_rise(s)
    if rise.max() <= 0 or len(rise) * s.hop < 2.5:
        return None
    found = _periods(_autocorrelation(rise), 0.3, 2.0, s.hop)
    return 60.0 / (_shortest_strong(found) * s.hop) if found else None


#: How a backbeat's tempo may relate to the follower's: octaves, and the 3:2 of a pulse
#: heard on dotted beats.
RATIOS = (1.0, 2.0, 0.5, 1.5, 2 / 3)


def _near(a: float, b: float) -> bool:
    return abs(a / b - 1.0) < 0.04


def reconcile(follower: float, backbeat: float | None, kick: float | None = None) -> float:
    """The follower's tempo moved to the backbeat's octave (or 3:2) when they differ by one.

    Without a backbeat (or with one unrelated to the follower's pulse), a steady kick decides
    between the follower's tempo and its 3:2 and 4:3 neighbours: a follower that took three
    eighths for a beat hears the kick on every other beat.
    """
    if backbeat is not None:
        for ratio in RATIOS:
            if _near(backbeat, follower * ratio):
                return follower * ratio
    if kick is not None:  # no backbeat, or one unrelated to the follower's pulse
        pulses = [k for k in (kick, kick / 2, kick * 2) if 60.0 <= k <= 200.0]
        if pulses and not any(_near(follower, k) for k in pulses):
            for ratio in (1.5, 2 / 3, 3.0, 1 / 3, 0.75, 4 / 3):
                for k in pulses:
                    if _near(follower * ratio, k):
                        return follower * ratio
    return follower


def salience(s: Spectra, envelope: np.ndarray) -> np.ndarray:
    """What marks a beat: any onset, snares, and above all what rises below 150 Hz (kicks and
    bass notes: where off-beat stabs and on-beat kicks compete, a listener taps the kick)."""
    parts = [(envelope, 1.0), (_kick_rise(s), 3.0), (backbeat_envelope(s), 1.0)]
    return sum(w * p / p.mean() for p, w in parts if p.max() > 0) if envelope.max() > 0 else envelope


def beat_times(s: Spectra, bpm: float, envelope: np.ndarray) -> np.ndarray:
    """Beat times (seconds, envelope frame times) at ``bpm``: the phase where the clip's
    beat-synchronous salience peaks."""
    period = 60.0 / bpm
    origin = np.arange(0.0, s.seconds - period, period)
    if len(origin) < 2:
        return np.zeros(0)
    marks = salience(s, envelope)
    profile_ = profile(marks, s.hop, np.append(origin, origin[-1] + period))
    best = int(np.argmax(profile_))
    phase = (best + _vertex(profile_[best - 1], profile_[best], profile_[(best + 1) % PHASES])) / PHASES
    return np.arange(phase * period, s.seconds, period)


def profile(envelope: np.ndarray, hop: float, beats: np.ndarray) -> np.ndarray:
    """The envelope averaged over every whole beat, at PHASES points per beat."""
    if len(beats) < 2:
        return np.zeros(PHASES)
    period = float(np.median(np.diff(beats)))
    starts = beats[:-1]
    where = starts[:, None] + np.arange(PHASES)[None, :] / PHASES * period
    return np.interp(where / hop, np.arange(len(envelope)), envelope).mean(axis=0)


def _peak(p: np.ndarray, low: float, high: float) -> float | None:
    """The phase (0..1, refined between points) of the highest local maximum of the cyclic
    profile ``p`` between phases ``low`` and ``high`` (which may wrap below 0)."""
    points = np.arange(int(np.floor(low * PHASES)), int(np.ceil(high * PHASES)) + 1)
    here, before, after = p[points % PHASES], p[(points - 1) % PHASES], p[(points + 1) % PHASES]
    local = (here >= before) & (here >= after) & (here > p.min())
    if not local.any():
        return None
    best = int(np.argmax(np.where(local, here, -np.inf)))
    return (points[best] + _vertex(before[best], here[best], after[best])) / PHASES


def swing_ratio(beat_profile: np.ndarray) -> float:
    """Where the off-beat eighth sits after the beat, 0.5 (straight) to about 0.75; 0.5
    without off-beats.

    Both positions are peaks of the same profile (the beat's within a tenth of a beat of
    the grid, the off-beat's between 0.42 and 0.71 of a beat after it; 0.75 would be a
    straight sixteenth), so a grid a little early or late does not bias the ratio. A ratio
    below 0.5 means the grid sits on the off-beats, so its distance from 0.5 is what counts.
    """
    p = beat_profile
    spread = p.max() - p.min()
    on = _peak(p, -0.1, 0.1)
    if spread <= 0 or on is None:
        return 0.5
    off = _peak(p, on + 0.42, on + 0.71)
    if off is None or p[int(round(off * PHASES)) % PHASES] - p.min() < 0.1 * spread:
        return 0.5  # no off-beat eighths to speak of
    return 0.5 + abs((off - on) - 0.5)


def syncopation(envelope: np.ndarray, hop: float, beats: np.ndarray, ratio: float) -> float:
    """Longuet-Higgins and Lee syncopation per unit of accent, on the sixteenth grid of each beat."""
    if len(beats) < 3:
        return 0.0
    period = float(np.median(np.diff(beats)))
    positions = np.array([0.0, ratio / 2, ratio, (1 + ratio) / 2])  # the sixteenths, swung with the eighths
    reach = max(1, int(round(period / 16 / hop)))
    peak = maximum_filter1d(envelope, 2 * reach + 1, mode="nearest")
    where = (beats[:, None] + positions[None, :] * period) / hop
    accents = np.interp(where, np.arange(len(envelope)), peak)           # (beats, 4)
    on, e, off, a = accents[:-1, 0], accents[:-1, 1], accents[:-1, 2], accents[:-1, 3]
    following = accents[1:, 0]
    score = (np.maximum(e - off, 0.0) + np.maximum(off - following, 0.0) + 2 * np.maximum(a - following, 0.0))
    total = (on + e + off + a).sum()
    return float(score.sum() / total) if total > 0 else 0.0


def rhythm(s: Spectra, samples: np.ndarray) -> Rhythm:
    from ...follow import TempoFollower

    envelope = onset_envelope(s.mel, s.hop)
    onset_frames = peaks(note_envelope(s.mel, s.hop), s.hop)
    per_second = len(onset_frames) / max(s.seconds, 1e-9)
    bpm = follower_bpm = None
    confidence = 0.0
    beats = np.zeros(0)
    if s.seconds >= MIN_SECONDS:
        follower = TempoFollower(s.rate, window=min(s.seconds, 30.0))
        follower.feed(samples, 0)
        estimate = follower.estimate()
        if estimate is not None and estimate.confidence >= MIN_CONFIDENCE:
            follower_bpm, confidence = estimate.bpm, estimate.confidence
            bpm = reconcile(estimate.bpm, backbeat_bpm(s, per_second), kick_bpm(s))
            beats = beat_times(s, bpm, envelope)
    per_beat = per_second * 60.0 / (bpm if bpm is not None else 120.0)
    ratio, sync = 0.5, 0.0
    if len(beats) >= 3:
        ratio = swing_ratio(profile(envelope, s.hop, beats))
        low_end = onset_envelope(s.mel[:, s.mel_hz < LOW_END_HZ], s.hop)
        sync = max(syncopation(envelope, s.hop, beats, ratio),
                   LOW_END_WEIGHT * syncopation(low_end, s.hop, beats, ratio))
    return Rhythm(bpm, confidence, follower_bpm, per_second, per_beat, ratio, sync)
