"""Synthesizer invariants on the random-weight fixture voices.

1. Streaming == the reference path (reference decoder step, offline codec), whatever the chunking.
2. step_streams batching == each stream alone (voices, mixes, speeds, lengths, sampling).
3. Word timestamps: monotonic, inside the audio, handed out with the chunk they start in.
4. The first chunk is small; per-stream state is constant over a long stream; cancel frees it.
5. Each phrase decodes from a fresh acoustic state (phrase_reset), or carries it on when asked.
"""

import numpy as np
import pytest
import torch

from opening_silence import skipped
from tts import AudioChunk, SynthesisStream, WordTimestamp
from tts.errors import StatecastError
from tts.synth.chunks import chunk_frames
from tts.synth.reference import synthesize_ref
from tts.synth.segment import text_phrases

TEXT = "Hello world, this is $42.50 for two. Dr. Smith is here! Okay?"
ATOL = 1e-5


def joined(chunks):
    return np.concatenate([c.pcm for c in chunks]), [w for c in chunks for w in c.words]


def drain(stream, first=2, rest=8):
    """Read a closed stream to its final chunk: ``first`` frames, then ``rest`` at a time."""
    chunks, n = [], first
    while True:
        c = stream.read(n)
        assert c is not None, "a closed stream always has something to give"
        chunks.append(c)
        n = rest
        if c.final:
            return chunks


@pytest.mark.parametrize("first, rest", [(2, 8), (1, 1), (3, 5)])
def test_stream_equals_reference_for_any_chunking(synth, first, rest):
    ref, tokens, ref_words = synthesize_ref(synth, TEXT)
    chunks = list(synth.stream(TEXT, first_chunk_frames=first, chunk_frames=rest))
    pcm, words = joined(chunks)
    skip = skipped(synth, TEXT)
    assert skip > 0, "the fixture's opening silence must be trimmed, or this test misses that path"
    assert pcm.shape == ref.shape == ((tokens.shape[1] - skip) * synth.hop + synth.codec.cfg.tail_samples,)
    assert np.abs(ref).max() > 0.01, "fixture audio must not be silent, or equality means nothing"
    np.testing.assert_allclose(pcm, ref, atol=ATOL)
    assert words == ref_words
    assert [c.final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    # Sizes follow the shared ramp: first, doubling up to rest.
    assert [c.pcm.shape[0] for c in chunks[:-1]] == [chunk_frames(first, rest, i) * synth.hop
                                                     for i in range(len(chunks) - 1)]
    assert chunks[0].pcm.shape == (first * synth.hop,)
    assert all(c.pcm.dtype == np.float32 and np.abs(c.pcm).max() <= 1.0 for c in chunks)
    starts = np.cumsum([0] + [c.pcm.shape[0] for c in chunks[:-1]]) / synth.sample_rate
    assert np.allclose([c.start for c in chunks], starts)


def test_stream_equals_reference_with_a_subframe_codec_head(tmp_path):
    """A codec whose iSTFT head makes 4 spectra per frame: same chunk sizes, a
    shorter final tail, and streaming still equals the reference."""
    from tests.conftest import _load_maker
    from tts import Synthesizer

    bundle = _load_maker().make_fixture_voices(tmp_path / "v", size="tiny", seed=1, codec_overrides={"head_subframes": 4})
    sub = Synthesizer.load(bundle, threads=1)
    assert sub.codec.cfg.tail_samples == (sub.codec.cfg.n_fft - sub.hop) // 4
    ref, tokens, _ = synthesize_ref(sub, TEXT)
    chunks = list(sub.stream(TEXT, first_chunk_frames=2, chunk_frames=8))
    pcm, _ = joined(chunks)
    skip = skipped(sub, TEXT)
    assert pcm.shape == ref.shape == ((tokens.shape[1] - skip) * sub.hop + sub.codec.cfg.tail_samples,)
    assert np.abs(ref).max() > 0.01
    np.testing.assert_allclose(pcm, ref, atol=ATOL)
    assert chunks[0].pcm.shape == (2 * sub.hop,)


def test_word_timestamps_are_monotonic_inside_the_audio_and_ride_their_chunk(synth):
    chunks = list(synth.stream(TEXT))
    pcm, words = joined(chunks)
    duration = pcm.shape[0] / synth.sample_rate
    assert [w.word for w in words] == ["Hello", "world", "this", "is", "forty-two", "dollars", "and", "fifty",
                                       "cents", "for", "two", "Doctor", "Smith", "is", "here", "Okay"]
    assert all(isinstance(w, WordTimestamp) for w in words)
    for a, b in zip(words, words[1:]):
        assert a.start <= a.end <= b.start
    assert 0 < words[0].start and words[-1].end <= duration
    for c in chunks[:-1]:
        for w in c.words:
            assert c.start <= w.start < c.start + c.pcm.shape[0] / synth.sample_rate


def test_first_chunk_is_small_and_comes_before_the_text_is_finished(synth):
    s = synth.open()
    s.push("Hello there. And then some more text is still")
    assert s.frames_ready > 2
    first = s.read(2)
    assert isinstance(first, AudioChunk) and first.pcm.shape == (2 * synth.hop,) and not first.final
    assert first.start == 0.0
    s.cancel()


def _schedules(synth):
    """Streams of different voices, mixes, speeds, lengths and one sampled: (open kwargs, text)."""
    return [
        (dict(voice="af_heart"), "Short one. Then two more."),
        (dict(voice="bm_george", speed=1.5), "A somewhat longer sentence, with a clause. And a second."),
        (dict(voice={"af_heart": 0.7, "bf_emma": 0.3}, speed=0.8), "Mixed voices speak slowly."),
        (dict(voice="joe", temperature=0.7, seed=3), "Sampled, but seeded. Twice!"),
    ]


def test_step_streams_batch_equals_each_stream_alone(synth):
    specs = _schedules(synth)
    alone = []
    for kw, text in specs:
        s = synth.open(**kw)
        s.push(text)
        s.close()
        alone.append(joined(drain(s)))
    streams = [synth.open(**kw) for kw, _ in specs]
    for s, (_, text) in zip(streams, specs):
        s.push(text)
        s.close()
    idle = synth.open("am_michael")  # open, no text yet: nothing to give
    got = [[] for _ in streams]
    tick = 0
    while not all(s.done for s in streams):
        live = [i for i, s in enumerate(streams) if not s.done]
        # Uneven, changing frame requests: the batch is never uniform.
        frames = [2 if not got[i] else (3 + (i + tick) % 6) for i in live]
        out = synth.step_streams([streams[i] for i in live] + [idle], frames + [8])
        assert out[-1] is None
        for i, c in zip(live, out[:-1]):
            assert c is not None
            got[i].append(c)
        tick += 1
    assert len({len(g) for g in got}) > 1, "streams of different lengths"
    for (pcm_a, words_a), chunks in zip(alone, got):
        pcm_b, words_b = joined(chunks)
        assert pcm_a.shape == pcm_b.shape
        np.testing.assert_allclose(pcm_b, pcm_a, atol=ATOL)
        assert words_b == words_a
    assert synth.step_streams([streams[0]], [4]) == [None]  # finished streams give nothing more
    idle.cancel()


def test_step_streams_rejects_foreign_and_duplicate_streams(synth, fixture_voices):
    from tts import Synthesizer

    other = Synthesizer.load(fixture_voices, warm=False)
    s, t = synth.open(), other.open()
    with pytest.raises(ValueError, match="another Synthesizer"):
        synth.step_streams([s, t], [1, 1])
    with pytest.raises(ValueError, match="twice"):
        synth.step_streams([s, s], [1, 1])
    with pytest.raises(ValueError, match="frame counts"):
        synth.step_streams([s], [1, 2])
    s.cancel()
    t.cancel()


def test_voice_mix_is_a_blend_and_one_voice_mix_is_that_voice(synth):
    heart, _ = synth.synthesize("Testing voices.", voice="af_heart")
    as_mix, _ = synth.synthesize("Testing voices.", voice={"af_heart": 2.0})
    emma, _ = synth.synthesize("Testing voices.", voice="bf_emma")
    both, _ = synth.synthesize("Testing voices.", voice={"af_heart": 0.5, "bf_emma": 0.5})
    np.testing.assert_array_equal(heart, as_mix)
    assert not np.array_equal(heart[: len(both)], both[: len(heart)])
    assert not np.array_equal(emma[: len(both)], both[: len(emma)])
    assert synth.open({"af_heart": 0.3, "bf_emma": 0.7}).lang == "en-gb"
    assert synth.open({"af_heart": 0.7, "bf_emma": 0.3}).lang == "en-us"


def test_speed_scales_the_length(synth):
    slow, _ = synth.synthesize("Speed changes the length of speech.", speed=0.5)
    fast, _ = synth.synthesize("Speed changes the length of speech.", speed=2.0)
    ratio = len(slow) / len(fast)
    assert 2.5 < ratio < 5.5  # durations scale by 4; edge rounding and the fixed codec tail blur it


def test_sampling_is_seeded_and_differs_from_greedy(synth):
    a, _ = synth.synthesize("Sampling test.", temperature=1.0, seed=7)
    b, _ = synth.synthesize("Sampling test.", temperature=1.0, seed=7)
    greedy, _ = synth.synthesize("Sampling test.")
    np.testing.assert_array_equal(a, b)
    assert a.shape == greedy.shape and not np.array_equal(a, greedy)


def test_state_bytes_are_constant_over_a_long_stream(synth):
    s = synth.open("bm_george")
    n0 = s.state_nbytes()
    cfg = synth.model.cfg
    assert n0 > cfg.n_layers * cfg.n_heads * cfg.head_dim * cfg.d_state * 4  # the SSM state at least
    s.push(" ".join(["This sentence repeats to make a long stream."] * 12))
    s.close()
    queued = [s.queued_nbytes()]
    frames = 0
    while not s.done:
        c = s.read(16)
        frames += c.pcm.shape[0] // synth.hop
        if not s.done:
            assert s.state_nbytes() == n0
            queued.append(s.queued_nbytes())
    assert frames > 1000
    assert queued == sorted(queued, reverse=True) and queued[-1] < queued[0]


def test_cancel_frees_state_and_later_calls_raise(synth):
    s = synth.open()
    s.push("Some text to speak. More")
    s.read(3)
    assert s.state_nbytes() > 0
    s.cancel()
    assert s.done and s.state_nbytes() == 0 and s.queued_nbytes() == 0 and s.frames_ready == 0
    for call in (lambda: s.push("x"), s.flush, s.close, lambda: s.read(1),
                 lambda: synth.step_streams([s], [1])):
        with pytest.raises(StatecastError, match="cancelled"):
            call()
    s.cancel()  # cancelling twice is harmless


def test_stopping_a_stream_early_frees_it(synth):
    gen = synth.stream("A sentence that we will not listen to the end of.")
    next(gen)
    frame = gen.gi_frame
    s = frame.f_locals["s"]
    assert isinstance(s, SynthesisStream) and not s.done
    gen.close()
    assert s.done and s.state_nbytes() == 0


def test_stream_tokens_use_the_lean_step_equal_to_reference(synth):
    """The batched path uses LeanStepper; the reference uses AcousticModel.step: same tokens."""
    _, tokens, _ = synthesize_ref(synth, "Tokens match.")
    s = synth.open()
    s.push("Tokens match.")
    s.close()
    state = synth.model.init_state(1)
    q = s._queue
    lean = []
    while not q.exhausted:
        tok, _, state = synth._stepper.step(state, q.take(1))
        lean.append(tok[0])
    assert torch.equal(torch.stack(lean, 1), tokens)
    s.cancel()


def test_codec_input_tokens_decodes_the_argmax_and_mean_is_the_default(synth):
    from tts import Synthesizer

    hard = Synthesizer(synth.bundle, codec_input="tokens")
    assert synth.codec_input == "mean"
    ref_mean, tokens, _ = synthesize_ref(synth, TEXT)
    ref_hard, tokens_hard, _ = synthesize_ref(hard, TEXT)
    assert torch.equal(tokens, tokens_hard)  # the decoder's own path is the same: only the codec input differs
    pcm_hard, _ = hard.synthesize(TEXT)
    np.testing.assert_allclose(pcm_hard, ref_hard, atol=ATOL)
    # The tokens path is exactly the codec decoding those tokens.
    with torch.no_grad():
        wave, cstate = synth.codec.decoder(synth.codec.quantizer.dequantize(tokens[None]))
    whole = torch.cat([wave[0], cstate.tail[0]]).clamp(-1, 1).numpy()
    np.testing.assert_allclose(ref_hard, whole[skipped(synth, TEXT) * synth.hop:], atol=ATOL)
    assert np.abs(ref_mean - ref_hard).max() > 1e-3  # random weights are unsure: the mean is not the argmax
    with pytest.raises(StatecastError, match="codec_input must be one of"):
        Synthesizer(synth.bundle, codec_input="soft")


SECOND = "Dr. Smith is here!"


def test_each_phrase_decodes_as_if_spoken_alone(synth):
    """phrase_reset: the second phrase's tokens are those of that phrase in a new stream."""
    _, both, _ = synthesize_ref(synth, "Hello world. " + SECOND)
    _, alone, _ = synthesize_ref(synth, SECOND)
    assert both.shape[1] > alone.shape[1]
    assert torch.equal(both[:, -alone.shape[1]:], alone)


def test_without_phrase_reset_the_state_carries_over_and_streams_still_match(fixture_voices):
    from tts import Synthesizer

    carry = Synthesizer.load(fixture_voices, threads=1, warm=False, phrase_reset=False)
    _, both, _ = synthesize_ref(carry, "Hello world. " + SECOND)
    _, alone, _ = synthesize_ref(carry, SECOND)
    assert not torch.equal(both[:, -alone.shape[1]:], alone)  # the first phrase is still in the state
    ref, _, _ = synthesize_ref(carry, TEXT)
    pcm, _ = joined(list(carry.stream(TEXT, first_chunk_frames=3, chunk_frames=5)))
    np.testing.assert_allclose(pcm, ref, atol=ATOL)


def test_end_pause_adds_its_frames_to_every_phrase_and_is_checked(fixture_voices):
    from tts import Synthesizer

    text = "Hello world. Dr. Smith is here!"  # two phrases, each ending in a sentence mark
    plain = Synthesizer.load(fixture_voices, threads=1, warm=False, end_pause_frames=0)
    paused = Synthesizer.load(fixture_voices, threads=1, warm=False, end_pause_frames=3)
    a, _ = plain.synthesize(text)
    b, _ = paused.synthesize(text)
    assert b.shape[0] - a.shape[0] == 2 * 3 * plain.hop
    ref, _, _ = synthesize_ref(paused, text)
    np.testing.assert_allclose(b, ref, atol=ATOL)
    for bad in (-1, 41, 2.5, True):
        with pytest.raises(StatecastError, match="end_pause_frames"):
            Synthesizer(plain.bundle, end_pause_frames=bad)


def test_lead_frames_floors_every_phrases_leading_silence(fixture_voices):
    from tts import Synthesizer

    text = "Hello world. Dr. Smith is here!"  # two phrases
    plain = Synthesizer.load(fixture_voices, threads=1, warm=False, lead_frames=0)
    led = Synthesizer.load(fixture_voices, threads=1, warm=False, lead_frames=30)
    ref_plain, _, _ = synthesize_ref(plain, text)
    b, _ = led.synthesize(text)
    ref, _, _ = synthesize_ref(led, text)
    np.testing.assert_allclose(b, ref, atol=ATOL)  # streaming == reference with the option too
    assert b.shape[0] > ref_plain.shape[0]  # no fixture phrase is predicted a 30-frame lead
    short = Synthesizer.load(fixture_voices, threads=1, warm=False, lead_frames=1, lead_max_frames=1)
    c, _ = short.synthesize(text)
    ref_short, _, _ = synthesize_ref(short, text)
    np.testing.assert_allclose(c, ref_short, atol=ATOL)
    assert Synthesizer(plain.bundle).lead_frames == 8  # the default (module docstring)
    for bad in (-1, 41, 2.5, True):
        with pytest.raises(StatecastError, match="lead_frames"):
            Synthesizer(plain.bundle, lead_frames=bad)
        with pytest.raises(StatecastError, match="lead_max_frames"):
            Synthesizer(plain.bundle, lead_max_frames=bad)
    with pytest.raises(StatecastError, match="below lead_frames"):
        Synthesizer(plain.bundle, lead_frames=8, lead_max_frames=4)


def test_opening_silence_is_decoded_but_only_its_last_frames_are_sent(fixture_voices):
    """The model and codec run in on the whole planned lead; the client gets only its
    last ``lead_send_frames``: same samples after that point, timestamps moved alike,
    and only the stream's first phrase is trimmed (later leads are pauses)."""
    from tts import Synthesizer

    text = "Hello world. Dr. Smith is here!"  # two phrases
    full = Synthesizer.load(fixture_voices, threads=1, warm=False, lead_send_frames=None)
    sent = Synthesizer.load(fixture_voices, threads=1, warm=False)
    assert sent.lead_send_frames == 2  # the default (module docstring)
    a, wa = full.synthesize(text)
    b, wb = sent.synthesize(text)
    skip = skipped(sent, text)
    assert skipped(full, text) == 0 and skip > 0
    vec, lang = sent.resolve_voice(None)
    lead = int(sent.plan_phrase(text_phrases(sent._frontend(lang), text, 48)[0].ids(), vec).frames[0])
    assert skip == lead - 2
    np.testing.assert_allclose(b, a[skip * sent.hop:], atol=ATOL)
    assert [w.word for w in wb] == [w.word for w in wa]
    assert all(abs(x.start - (y.start - skip / sent.frame_rate)) < 1e-9 and
               abs(x.end - (y.end - skip / sent.frame_rate)) < 1e-9 for x, y in zip(wb, wa))
    ref, _, ref_words = synthesize_ref(sent, text)
    np.testing.assert_allclose(b, ref, atol=ATOL)
    assert ref_words == wb
    # The first chunk still holds the frames asked for, all after the skipped ones.
    s = sent.open()
    s.push(text)
    first = s.read(2)
    assert first.pcm.shape == (2 * sent.hop,) and first.start == 0.0
    np.testing.assert_allclose(first.pcm, a[skip * sent.hop:(skip + 2) * sent.hop], atol=ATOL)
    # Text pushed later (a new phrase after the first) keeps its own lead whole.
    s.push(" And more.")
    s.close()
    rest, _ = joined(drain(s))
    c, _ = full.synthesize(text + " And more.")
    np.testing.assert_allclose(np.concatenate([first.pcm, rest]), c[skip * sent.hop:], atol=ATOL)
    # 0 sends nothing before the first phoneme's frame.
    bare = Synthesizer.load(fixture_voices, threads=1, warm=False, lead_send_frames=0)
    d, wd = bare.synthesize(text)
    np.testing.assert_allclose(d, a[lead * sent.hop:], atol=ATOL)
    assert abs(wd[0].start - (wa[0].start - lead / sent.frame_rate)) < 1e-9
    for bad in (-1, 41, 2.5, True, "2"):
        with pytest.raises(StatecastError, match="lead_send_frames"):
            Synthesizer(full.bundle, lead_send_frames=bad)


def test_max_steps_spreads_a_first_read_over_calls_with_the_same_audio(synth):
    """step_streams(max_steps=k): a newcomer's first read (its unsent opening silence
    plus the frames asked for) is cut to k steps per call; the cut calls return no
    samples, and the audio, timestamps and a batched neighbour are as without the cap."""
    text = "Hello world. Dr. Smith is here!"
    skip = skipped(synth, text)
    assert skip > 3
    ref, ref_words = synth.synthesize(text)

    def run(cap):
        a, b = synth.open(), synth.open()
        a.push(text), b.push("Good morning.")
        a.close(), b.close()
        synth.step_streams([b], [2])  # b is already playing when a arrives
        pcm, words, empty, index = [], [], 0, 0
        while not a.done:
            n = chunk_frames(2, 8, index)
            ca, cb = synth.step_streams([a, b], [n, 4], max_steps=cap)
            if cb is not None and not cb.final:  # the neighbour's tick is cut too (its tail aside)
                assert len(cb.pcm) <= (cap or 4) * synth.hop
            if not len(ca.pcm) and not ca.final:
                empty += 1
                continue
            pcm.append(ca.pcm), words.extend(ca.words)
            index += 1
        b.cancel()
        return np.concatenate(pcm), words, empty

    pcm, words, empty = run(None)
    assert empty == 0
    np.testing.assert_allclose(pcm, ref, atol=ATOL)
    capped, capped_words, empty = run(3)
    rem, silent_calls = skip, 0  # calls that decode silence only, until the rest fits in one call
    while rem + 2 > 3:
        rem, silent_calls = rem - min(rem, 3), silent_calls + 1
    assert empty == silent_calls
    assert len(capped) == len(pcm)  # the first chunk still holds the 2 frames asked for (below: same audio)
    np.testing.assert_allclose(capped, ref, atol=ATOL)
    assert capped_words == words == ref_words
    with pytest.raises(ValueError, match="max_steps"):
        synth.step_streams([synth.open()], [2], max_steps=0)
