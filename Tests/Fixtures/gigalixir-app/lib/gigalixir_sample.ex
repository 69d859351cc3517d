defmodule GigalixirSample do
  @moduledoc "Answers every HTTP request on the port config/releases.exs set at boot."
  use Application

  def start(_type, _args) do
    port = Application.fetch_env!(:gigalixir_sample, :port)
    children = [{Task, fn -> serve(port) end}]
    Supervisor.start_link(children, strategy: :one_for_one)
  end

  defp serve(port) do
    {:ok, socket} = :gen_tcp.listen(port, [:binary, packet: :http_bin, active: false, reuseaddr: true, ip: {127, 0, 0, 1}])
    accept(socket)
  end

  defp accept(socket) do
    {:ok, client} = :gen_tcp.accept(socket)
    body = "gigalixir sample #{Application.spec(:gigalixir_sample, :vsn)} on port #{Application.fetch_env!(:gigalixir_sample, :port)}\n"
    :gen_tcp.send(client, ["HTTP/1.1 200 OK\r\ncontent-length: ", Integer.to_string(byte_size(body)), "\r\nconnection: close\r\n\r\n", body])
    :gen_tcp.close(client)
    accept(socket)
  end
end
