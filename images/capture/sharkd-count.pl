#!/usr/bin/perl
# Count the packets that match each of several Wireshark display filters in a capture, asking a running
# sharkd (Wireshark's dissection daemon) in a session of its own:
#
#   sharkd unix:/tmp/sharkd.sock &          # once: registers every dissector (~0.45 CPU-s here)
#   sharkd-count.pl /tmp/sharkd.sock CAPTURE.pcap FILTER...
#   sharkd-count.pl --frames FIELD,FIELD... /tmp/sharkd.sock CAPTURE.pcap FILTER...   (and every frame's fields)
#
# Each connection to the daemon is served by a forked child with nothing of any earlier capture: a new
# session per capture, because sharkd 4.0 keeps each filter's results across `load`s within one session
# (a second capture loaded in a session was counted with the first one's frames). The fork costs little:
# the dissectors are registered once, by the daemon, which is the point (orchestrator/lab/capture.py).
#
# Output, one record per line, tab-separated (what count-filters.lua printed before: capture.py parses it):
#   total   <frames in the capture>
#   count   <filter number, from 1>   <frames that match>
#   sample  <filter number>           #<frame> <source> → <destination> <protocol> <length> <info>  (first few)
#   error   <filter number>           <why the filter is invalid, in Wireshark's words>
#   frames  list                      <sharkd's answer to `frames`: every frame's packet-list columns>
#   frames  fields                    <its answer to `frames` with each FIELD as a custom column>
#                                      (with --frames, after the counts; a FIELD is a Wireshark custom
#                                      column: `ip.src:1` is the frame's first ip.src; JSON-RPC, one line each)
#   damaged <why>                      (the capture file is cut short or damaged: what was read is counted)
#   end                                (last: the counts are complete)
# A sample is the frame's line in Wireshark's packet list. Filters are evaluated by Wireshark's own engine,
# so they mean exactly what they mean in Wireshark's filter bar. Exit status 0, or 2 with the reason on stderr.
use strict;
use warnings;
use IO::Socket::UNIX;
use JSON::PP;
use Encode qw(decode);
use Time::HiRes qw(sleep time);

my $SAMPLES = 5;
my $WAIT = 60;  # seconds the daemon may take to start listening (it registers every dissector first)
# A filter's matching frames, counted by `intervals` with one interval longer than any capture.
my $ONE_INTERVAL = 2_000_000_000;

binmode STDOUT, ':encoding(UTF-8)';
my @fields;
if (@ARGV && $ARGV[0] eq '--frames') {
    shift @ARGV;
    @fields = split /,/, (shift @ARGV // '');
}
my ($socket, $pcap, @filters) = @ARGV;
die "usage: sharkd-count.pl [--frames FIELD,FIELD...] SOCKET CAPTURE FILTER...\n" unless defined $pcap;

sub fail { print STDERR "sharkd-count: @_\n"; exit 2 }

# The daemon is started just before the first capture may need it: wait for it to listen, and stop
# waiting as soon as it has died (its pid, if it left one beside the socket).
my $conn;
my $deadline = time + $WAIT;
until ($conn = IO::Socket::UNIX->new(Peer => $socket)) {
    if (open my $p, '<', "$socket.pid") {
        my $pid = <$p>;
        chomp $pid if defined $pid;
        fail("sharkd (pid $pid) has exited; it never listened on $socket") if $pid && !kill 0, $pid;
    }
    fail("sharkd did not listen on $socket within $WAIT s: $!") if time > $deadline;
    sleep 0.02;
}

my $json = JSON::PP->new->utf8->canonical;
my $id = 0;

sub send_request {
    my ($method, %params) = @_;
    my $request = {jsonrpc => '2.0', id => ++$id, method => $method};
    $request->{params} = \%params if %params;
    print {$conn} $json->encode($request), "\n" or fail("writing to sharkd: $!");
}

sub read_line {
    my ($method) = @_;
    my $line = <$conn>;
    fail("sharkd closed the session during '$method'") unless defined $line;
    return $line;
}

sub read_answer {
    my ($method) = @_;
    my $line = read_line($method);
    my $answer = eval { $json->decode($line) } or fail("sharkd's answer to '$method' is not JSON: $@");
    return $answer;
}

sub call {
    send_request(@_);
    return read_answer($_[0]);
}

# A request whose (long) answer is passed on as it came: the line, or the end with sharkd's reason.
sub call_raw {
    my ($method) = @_;
    send_request(@_);
    my $line = read_line($method);
    chomp $line;
    return $line if $line =~ /^\{"jsonrpc":"2\.0","id":\d+,"result":\[/;
    my $answer = eval { $json->decode($line) } || {};
    fail("sharkd's answer to '$method': " . one_line($answer->{error}{message} // substr($line, 0, 200)));
}

sub one_line { my $s = shift // ''; $s =~ s/[\t\r\n]+/ /g; return $s }

# `load` and `status` at once: sharkd 4.0 never answers the `load` of a capture that is cut short or damaged
# (a tcpdump killed mid-write), but it answers the `status` after it, with the frames it could read. So an
# answer to `status` first says the capture is damaged (a `damaged` record), at once instead of a wait that
# never ends; what it could read is counted and listed.
send_request('load', file => $pcap);
my $load_id = $id;
send_request('status');
my $first = read_answer('load');
if ($first->{id} == $load_id) {
    fail("sharkd could not load $pcap: " . one_line($first->{error}{message})) if $first->{error};
    $first = read_answer('status');
} else {
    my $read = $first->{result}{frames} // 0;  # what it could read is counted and listed as usual
    print "damaged\tthe capture file is cut short or damaged: Wireshark read $read whole packets of it\n";
}
fail("sharkd gave no status of $pcap: " . one_line($first->{error}{message})) if $first->{error};
print "total\t$first->{result}{frames}\n";

for my $i (1 .. @filters) {
    my $filter = $filters[$i - 1];
    my $counted = call('intervals', filter => $filter, interval => $ONE_INTERVAL);
    if ($counted->{error}) {
        my $check = call('check', filter => $filter);
        my $why = $check->{error} ? $check->{error}{message} : $counted->{error}{message};
        $why =~ s/^Filter invalid - //;
        print "error\t$i\t", one_line($why), "\n";
        next;
    }
    my $n = $counted->{result}{frames} // 0;
    print "count\t$i\t$n\n";
    next unless $n;
    my $frames = call('frames', filter => $filter, limit => $SAMPLES);
    for my $frame (@{$frames->{result} || []}) {
        my ($number, undef, $src, $dst, $proto, $length, $info) = @{$frame->{c}};
        print "sample\t$i\t", one_line("#$number $src \x{2192} $dst $proto $length $info"), "\n";
    }
}
if (@fields) {
    # Two passes of `frames`: the packet list's own columns (Protocol and Info, as Wireshark shows them), then
    # the fields as custom columns. Each answer is passed on as sharkd wrote it (one line of JSON, parsed by
    # the orchestrator): decoding and encoding 10,000 frames with JSON::PP would cost seconds.
    my %columns = map { ("column$_" => $fields[$_] =~ /:-?\d+$/ ? $fields[$_] : "$fields[$_]:0") } 0 .. $#fields;
    for my $pass (['list'], ['fields', %columns]) {
        my ($name, %params) = @$pass;
        my $line = call_raw('frames', %params);
        print "frames\t$name\t", decode('UTF-8', $line), "\n";
    }
}
print "end\n";
print {$conn} $json->encode({jsonrpc => '2.0', id => ++$id, method => 'bye'}), "\n";
exit 0;
