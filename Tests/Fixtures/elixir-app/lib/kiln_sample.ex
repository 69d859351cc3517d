defmodule KilnSample.Application do
  @moduledoc "The Elixir sample: a tiny HTTP responder on $PORT, no dependencies."
  use Application

  def start(_type, _args) do
    port = String.to_integer(System.get_env("PORT") || "4000")
    {:ok, socket} = :gen_tcp.listen(port, [:binary, packet: :raw, active: false, reuseaddr: true])
    pid = spawn_link(fn -> accept(socket) end)
    {:ok, pid}
  end

  defp accept(socket) do
    {:ok, client} = :gen_tcp.accept(socket)
    {:ok, _request} = :gen_tcp.recv(client, 0, 5000)
    body = "#{Greeting.text()} by OTP #{:erlang.system_info(:otp_release)}\n"
    :gen_tcp.send(client, "HTTP/1.1 200 OK\r\ncontent-length: #{byte_size(body)}\r\nconnection: close\r\n\r\n" <> body)
    :gen_tcp.close(client)
    accept(socket)
  end
end
