defmodule HotSample.Application do
  use Application
  def start(_type, _args) do
    port = String.to_integer(System.get_env("PORT") || "4000")
    Supervisor.start_link([HotSample.Counter, {HotSample.Web, port}], strategy: :one_for_one, name: HotSample.Supervisor)
  end
end
