using System.Buffers;
using System.Security.Cryptography;
using System.Text.Unicode;

namespace SQLBuild.Core.Project;

/// <summary>
/// The characters of a seed file, read in blocks: the raw bytes are hashed as they go by (SHA-256, so the hash is the
/// file's), decoded as strict UTF-8 (a byte sequence that is not UTF-8 is P015 naming the file and line, never a
/// replacement character), and a leading byte order mark is skipped. Memory stays one block however large the file.
/// </summary>
internal sealed class SeedText : IDisposable
{
    private const int BlockSize = 64 * 1024;

    private readonly Stream _stream;
    private readonly string _file;
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _bytes = ArrayPool<byte>.Shared.Rent(BlockSize + 4);
    private readonly char[] _chars = ArrayPool<char>.Shared.Rent(BlockSize + 4);
    private int _pending;          // undecoded bytes (an incomplete sequence) at the start of _bytes
    private int _charCount;
    private int _charPos;
    private int _linesBefore;      // line feeds in the blocks already decoded
    private bool _eof;
    private bool _started;

    public SeedText(string fullPath, string file)
    {
        _file = file;
        _stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
    }

    /// <summary>The next character without taking it; -1 at the end.</summary>
    public int Peek() => _charPos < _charCount || Fill() ? _chars[_charPos] : -1;

    /// <summary>The next character; -1 at the end.</summary>
    public int Read() => _charPos < _charCount || Fill() ? _chars[_charPos++] : -1;

    /// <summary>SHA-256 hex of every byte of the file; call after reading to the end.</summary>
    public string HashHex()
    {
        while (Fill()) _charPos = _charCount;
        return Convert.ToHexString(_hash.GetHashAndReset()).ToLowerInvariant();
    }

    private bool Fill()
    {
        while (true)
        {
            if (_eof) return false;
            var read = _stream.Read(_bytes, _pending, BlockSize);
            if (read > 0) _hash.AppendData(_bytes, _pending, read);
            var available = _pending + read;
            var final = read == 0;
            var status = Utf8.ToUtf16(_bytes.AsSpan(0, available), _chars, out var bytesRead, out var charsWritten,
                replaceInvalidSequences: false, isFinalBlock: final);
            if (status == System.Buffers.OperationStatus.InvalidData)
            {
                var line = _linesBefore + 1 + _chars.AsSpan(0, charsWritten).Count('\n');
                throw ProjectErrors.SeedInvalid(_file, line,
                    $"invalid UTF-8: byte 0x{_bytes[bytesRead]:X2} is not part of a UTF-8 character; save the file as UTF-8");
            }
            _pending = available - bytesRead;
            if (_pending > 0) Buffer.BlockCopy(_bytes, bytesRead, _bytes, 0, _pending);
            _eof = final;
            _charPos = 0;
            _charCount = charsWritten;
            if (!_started && charsWritten > 0)
            {
                _started = true;
                if (_chars[0] == '\uFEFF') _charPos = 1;
            }
            _linesBefore += _chars.AsSpan(0, charsWritten).Count('\n');
            if (_charPos < _charCount) return true;
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        _hash.Dispose();
        ArrayPool<byte>.Shared.Return(_bytes);
        ArrayPool<char>.Shared.Return(_chars);
    }
}
